{
  "targets": [
    {
      "target_name": "mqtt_dissect_tls",
      "sources": ["tls-records.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
