{
  "targets": [
    {
      "target_name": "mqtt_dissect_aead",
      "sources": ["aead.c"],
      "cflags": ["-O2", "-Wall", "-Wextra"]
    }
  ]
}
