/*
 * The TLS layer's record crypto (src/transport/tls/record-keys.ts) with a cipher or MAC context kept per key.
 *
 * Why this exists: Node's crypto API makes a new decipher for every record (it cannot re-IV one), and that costs
 * about 3.5 us per record: 11 times the decryption itself for the ~210-byte records MQTT clients write. OpenSSL's EVP
 * API, the same library Node's crypto runs on (its symbols are exported by the node binary), can keep one context per
 * key and set only the next record's nonce. No cipher is written here: this is EVP_Decrypt* with the key schedule done
 * once. If this file cannot be built, the layer uses Node's crypto and gives the same results, only slower.
 *
 * AEAD: AES-GCM, ChaCha20-Poly1305 and AES-CCM (16-byte tags, CCM also 8; 12-byte nonces). CBC suites: the block
 * cipher (AES, 3DES) with a new IV per record and no padding removal (the layer checks the padding), and HMAC over a
 * record with the key kept (OpenSSL 3's EVP_MAC; without it the layer uses Node's HMAC). Every argument is checked; nothing is allocated per
 * call; plaintexts go into a buffer the caller owns.
 */
#include <node_api.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <stdlib.h>
#include <string.h>
#if OPENSSL_VERSION_MAJOR >= 3
#include <openssl/core_names.h>
#include <openssl/params.h>
#endif

#define TAG_LEN 16
#define NONCE_LEN 12

/*
 * About what OpenSSL holds for one context (the EVP context and its provider's state: key schedule, GHASH table),
 * told to V8 as external memory while the external lives, so that thousands of connections' keys count towards the
 * collections that free them.
 */
#define CONTEXT_BYTES 1024

static void external_bytes(napi_env env, int64_t change) {
  int64_t total;
  napi_adjust_external_memory(env, change, &total);
}

/* Each external starts with its kind, so one made by another function is refused instead of misread. */
enum { KIND_AEAD = 0x61656164, KIND_CBC = 0x63626321, KIND_MAC = 0x6d616321 };

/* A decryption context for one key: an AEAD cipher (KIND_AEAD) or a CBC one (KIND_CBC). */
typedef struct {
  unsigned kind;
  EVP_CIPHER_CTX* ctx;
  /* AES-CCM: the tag goes in before the nonce, and the plaintext length before the AAD (RFC 3610, OpenSSL's order). */
  int ccm;
  /* AEAD: the tag's length. */
  int tagLen;
  /* CBC: the block's length. */
  int block;
} Cipher;

/* The external behind `v` if it is one of kind `kind`; NULL otherwise. */
static void* external_of(napi_env env, napi_value v, unsigned kind) {
  napi_valuetype t;
  void* p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok || p == NULL) return NULL;
  return *(unsigned*)p == kind ? p : NULL;
}

static void cipher_free(napi_env env, void* data, void* hint) {
  (void)hint;
  external_bytes(env, -CONTEXT_BYTES);
  Cipher* c = (Cipher*)data;
  EVP_CIPHER_CTX_free(c->ctx);
  free(c);
}

/* The bytes of a Uint8Array (or any typed array viewed as bytes); 0 when `v` is not one. */
static int bytes_of(napi_env env, napi_value v, unsigned char** data, size_t* len) {
  bool is;
  if (napi_is_typedarray(env, v, &is) != napi_ok || !is) return 0;
  napi_typedarray_type type;
  size_t n;
  void* p;
  if (napi_get_typedarray_info(env, v, &type, &n, &p, NULL, NULL) != napi_ok || type != napi_uint8_array) return 0;
  *data = (unsigned char*)p;
  *len = n;
  return 1;
}

/* The call's first `want` arguments into argv; 0 (and a TypeError showing `usage`) when there are fewer. */
static int get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv, const char* usage) {
  size_t argc = want;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < want) {
    napi_throw_type_error(env, NULL, usage);
    return 0;
  }
  return 1;
}

/* An external holding `p`, freed by `fin` when collected; NULL (with `p` freed and an error thrown) when it cannot be. */
static napi_value wrap(napi_env env, void* p, napi_finalize fin) {
  napi_value ext;
  external_bytes(env, CONTEXT_BYTES); /* given back by `fin`, on the failure below too */
  if (napi_create_external(env, p, fin, NULL, &ext) != napi_ok) {
    fin(env, p, NULL);
    napi_throw_error(env, NULL, "cipher context set-up failed");
    return NULL;
  }
  return ext;
}

/* A cipher or digest name (OpenSSL's) from `v` into `buf`; 0 (and a TypeError) when it is no string or too long. */
static int name_arg(napi_env env, napi_value v, char* buf, size_t size) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok || len + 1 >= size) {
    napi_throw_type_error(env, NULL, "the name must be a string of a cipher or digest OpenSSL knows");
    return 0;
  }
  return 1;
}

/* An int32 result. */
static napi_value int_result(napi_env env, int n) {
  napi_value r;
  napi_create_int32(env, n, &r);
  return r;
}

/*
 * A decryption context of `kind` for `cipher` and the key in `keyArg` (its length checked); for AEAD the nonce length
 * and, for CCM, the tag length are set, for CBC the padding is left in place. An external, or NULL with an exception.
 */
static napi_value cipher_context(napi_env env, unsigned kind, const EVP_CIPHER* cipher, napi_value keyArg, int ccm, int tagLen) {
  unsigned char* key;
  size_t keyLen;
  if (!bytes_of(env, keyArg, &key, &keyLen) || (int)keyLen != EVP_CIPHER_key_length(cipher)) {
    napi_throw_type_error(env, NULL, "key must be a Uint8Array of the cipher's key length");
    return NULL;
  }
  Cipher* c = (Cipher*)malloc(sizeof(Cipher));
  if (c == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  c->kind = kind;
  c->ccm = ccm;
  c->tagLen = tagLen;
  c->block = EVP_CIPHER_block_size(cipher);
  c->ctx = EVP_CIPHER_CTX_new();
  int ok = c->ctx != NULL && EVP_DecryptInit_ex(c->ctx, cipher, NULL, NULL, NULL) == 1;
  if (ok && kind == KIND_AEAD) {
    ok = EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) == 1 &&
         (!ccm || EVP_CIPHER_CTX_ctrl(c->ctx, EVP_CTRL_AEAD_SET_TAG, tagLen, NULL) == 1);
  }
  ok = ok && EVP_DecryptInit_ex(c->ctx, NULL, NULL, key, NULL) == 1 && (kind != KIND_CBC || EVP_CIPHER_CTX_set_padding(c->ctx, 0) == 1);
  if (!ok) {
    EVP_CIPHER_CTX_free(c->ctx);
    free(c);
    napi_throw_error(env, NULL, "cipher context set-up failed");
    return NULL;
  }
  return wrap(env, c, cipher_free);
}

/*
 * key(name, keyBytes, tagLen): an external holding a decryption context for that cipher, key and tag length (16; AES-CCM
 * also 8); throws on a bad argument.
 */
static napi_value make_key(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  char name[32];
  int32_t tagLen = 0;
  if (!get_args(env, info, 3, argv, "key(name, keyBytes, tagLen)") || !name_arg(env, argv[0], name, sizeof name)) return NULL;
  if (napi_get_value_int32(env, argv[2], &tagLen) != napi_ok) {
    napi_throw_type_error(env, NULL, "key(name, keyBytes, tagLen)");
    return NULL;
  }
  const EVP_CIPHER* cipher = EVP_get_cipherbyname(name);
  const int ccm = cipher != NULL && EVP_CIPHER_mode(cipher) == EVP_CIPH_CCM_MODE;
  if (cipher == NULL || (EVP_CIPHER_mode(cipher) != EVP_CIPH_GCM_MODE && !ccm && EVP_CIPHER_nid(cipher) != NID_chacha20_poly1305)) {
    napi_throw_error(env, NULL, "only AES-GCM, AES-CCM and ChaCha20-Poly1305 are supported");
    return NULL;
  }
  if (tagLen != TAG_LEN && !(ccm && tagLen == 8)) {
    napi_throw_range_error(env, NULL, "the tag is 16 bytes (AES-CCM: 16 or 8)");
    return NULL;
  }
  return cipher_context(env, KIND_AEAD, cipher, argv[1], ccm, tagLen);
}

/*
 * open(key, nonce, aad, sealed, out): decrypts sealed = ciphertext || tag into out[0 .. n) and returns n, or -1 when
 * the tag does not verify. Throws on a bad argument (wrong types, a nonce not 12 bytes, out too small).
 */
static napi_value open_record(napi_env env, napi_callback_info info) {
  napi_value argv[5];
  if (!get_args(env, info, 5, argv, "open(key, nonce, aad, sealed, out)")) return NULL;
  Cipher* k = (Cipher*)external_of(env, argv[0], KIND_AEAD);
  if (k == NULL) {
    napi_throw_type_error(env, NULL, "key must come from key()");
    return NULL;
  }
  unsigned char *nonce, *aad, *sealed, *out;
  size_t nonceLen, aadLen, sealedLen, outLen;
  if (!bytes_of(env, argv[1], &nonce, &nonceLen) || !bytes_of(env, argv[2], &aad, &aadLen) ||
      !bytes_of(env, argv[3], &sealed, &sealedLen) || !bytes_of(env, argv[4], &out, &outLen)) {
    napi_throw_type_error(env, NULL, "nonce, aad, sealed and out must be Uint8Arrays");
    return NULL;
  }
  const size_t tagLen = (size_t)k->tagLen;
  if (nonceLen != NONCE_LEN || sealedLen < tagLen || sealedLen - tagLen > outLen || sealedLen > 0x7fffffff || aadLen > 0x7fffffff) {
    napi_throw_range_error(env, NULL, "nonce must be 12 bytes, sealed at least a tag, out as long as the plaintext");
    return NULL;
  }
  int n = (int)(sealedLen - tagLen);
  int got = 0, fin = 0, result = -1;
  if (k->ccm) {
    /* CCM checks the tag in its one DecryptUpdate of the ciphertext (there is no Final). */
    if (EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_AEAD_SET_TAG, (int)tagLen, sealed + n) == 1 &&
        EVP_DecryptInit_ex(k->ctx, NULL, NULL, NULL, nonce) == 1 &&
        EVP_DecryptUpdate(k->ctx, NULL, &got, NULL, n) == 1 &&
        (aadLen == 0 || EVP_DecryptUpdate(k->ctx, NULL, &got, aad, (int)aadLen) == 1) &&
        EVP_DecryptUpdate(k->ctx, out, &got, sealed, n) == 1) {
      result = n;
    }
    return int_result(env, result);
  }
  if (EVP_DecryptInit_ex(k->ctx, NULL, NULL, NULL, nonce) == 1 &&
      EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_AEAD_SET_TAG, (int)tagLen, sealed + n) == 1 &&
      (aadLen == 0 || EVP_DecryptUpdate(k->ctx, NULL, &got, aad, (int)aadLen) == 1) &&
      (n == 0 || EVP_DecryptUpdate(k->ctx, out, &got, sealed, n) == 1) &&
      EVP_DecryptFinal_ex(k->ctx, out + (n == 0 ? 0 : got), &fin) == 1) {
    result = n;
  }
  return int_result(env, result);
}

/* ---- CBC ------------------------------------------------------------------------------------ */

/* cbcKey(name, keyBytes): a CBC decryption context (padding left in place) for that cipher and key. */
static napi_value cbc_key(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[32];
  if (!get_args(env, info, 2, argv, "cbcKey(name, keyBytes)") || !name_arg(env, argv[0], name, sizeof name)) return NULL;
  const EVP_CIPHER* cipher = EVP_get_cipherbyname(name);
  if (cipher == NULL || EVP_CIPHER_mode(cipher) != EVP_CIPH_CBC_MODE) {
    napi_throw_error(env, NULL, "only CBC ciphers are supported");
    return NULL;
  }
  return cipher_context(env, KIND_CBC, cipher, argv[1], 0, 0);
}

/* cbcDecrypt(key, iv, data, out): data (whole blocks) decrypted into out[0 .. data.length); returns data.length. */
static napi_value cbc_decrypt(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "cbcDecrypt(key, iv, data, out)")) return NULL;
  Cipher* c = (Cipher*)external_of(env, argv[0], KIND_CBC);
  unsigned char *iv, *data, *out;
  size_t ivLen, dataLen, outLen;
  if (c == NULL || !bytes_of(env, argv[1], &iv, &ivLen) || !bytes_of(env, argv[2], &data, &dataLen) || !bytes_of(env, argv[3], &out, &outLen)) {
    napi_throw_type_error(env, NULL, "key must come from cbcKey(); iv, data and out must be Uint8Arrays");
    return NULL;
  }
  if ((int)ivLen != c->block || dataLen % (size_t)c->block != 0 || dataLen > outLen || dataLen > 0x7fffffff) {
    napi_throw_range_error(env, NULL, "iv must be one block, data whole blocks, out as long as data");
    return NULL;
  }
  int got = 0, fin = 0, result = -1;
  if (EVP_DecryptInit_ex(c->ctx, NULL, NULL, NULL, iv) == 1 &&
      (dataLen == 0 || EVP_DecryptUpdate(c->ctx, out, &got, data, (int)dataLen) == 1) &&
      EVP_DecryptFinal_ex(c->ctx, out + got, &fin) == 1) {
    result = got + fin;
  }
  return int_result(env, result);
}

/* ---- HMAC ----------------------------------------------------------------------------------- */
#if OPENSSL_VERSION_MAJOR >= 3
typedef struct {
  unsigned kind;
  EVP_MAC_CTX* ctx;
  size_t len;
} Mac;

static void mac_free(napi_env env, void* data, void* hint) {
  (void)hint;
  external_bytes(env, -CONTEXT_BYTES);
  Mac* m = (Mac*)data;
  EVP_MAC_CTX_free(m->ctx);
  free(m);
}

/* macKey(digest, keyBytes): HMAC with that digest and key, the key schedule done once. */
static napi_value mac_key(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char digest[32];
  unsigned char* key;
  size_t keyLen;
  if (!get_args(env, info, 2, argv, "macKey(digest, keyBytes)") || !name_arg(env, argv[0], digest, sizeof digest)) return NULL;
  if (!bytes_of(env, argv[1], &key, &keyLen)) {
    napi_throw_type_error(env, NULL, "macKey(digest, keyBytes)");
    return NULL;
  }
  const EVP_MD* md = EVP_get_digestbyname(digest);
  if (md == NULL) {
    napi_throw_error(env, NULL, "unknown digest");
    return NULL;
  }
  EVP_MAC* mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
  Mac* m = (Mac*)malloc(sizeof(Mac));
  if (mac == NULL || m == NULL) {
    EVP_MAC_free(mac);
    free(m);
    napi_throw_error(env, NULL, "HMAC not available");
    return NULL;
  }
  m->kind = KIND_MAC;
  m->ctx = EVP_MAC_CTX_new(mac);
  EVP_MAC_free(mac); /* the context keeps its own reference */
  OSSL_PARAM params[2];
  params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0);
  params[1] = OSSL_PARAM_construct_end();
  if (m->ctx == NULL || EVP_MAC_init(m->ctx, keyLen == 0 ? (const unsigned char*)"" : key, keyLen, params) != 1) {
    EVP_MAC_CTX_free(m->ctx);
    free(m);
    napi_throw_error(env, NULL, "HMAC set-up failed");
    return NULL;
  }
  m->len = (size_t)EVP_MD_size(md);
  return wrap(env, m, mac_free);
}

/* macVerify(key, head, data, expected): HMAC(head || data) equals expected (compared in constant time). */
static napi_value mac_verify(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  if (!get_args(env, info, 4, argv, "macVerify(key, head, data, expected)")) return NULL;
  Mac* m = (Mac*)external_of(env, argv[0], KIND_MAC);
  unsigned char *head, *data, *expected;
  size_t headLen, dataLen, expectedLen;
  if (m == NULL || !bytes_of(env, argv[1], &head, &headLen) || !bytes_of(env, argv[2], &data, &dataLen) || !bytes_of(env, argv[3], &expected, &expectedLen)) {
    napi_throw_type_error(env, NULL, "key must come from macKey(); head, data and expected must be Uint8Arrays");
    return NULL;
  }
  unsigned char got[EVP_MAX_MD_SIZE];
  size_t gotLen = 0;
  bool ok = expectedLen == m->len &&
            EVP_MAC_init(m->ctx, NULL, 0, NULL) == 1 &&
            EVP_MAC_update(m->ctx, head, headLen) == 1 &&
            EVP_MAC_update(m->ctx, data, dataLen) == 1 &&
            EVP_MAC_final(m->ctx, got, &gotLen, sizeof got) == 1 &&
            gotLen == expectedLen && CRYPTO_memcmp(got, expected, gotLen) == 0;
  napi_value r;
  napi_get_boolean(env, ok, &r);
  return r;
}
#endif

static void export_fn(napi_env env, napi_value exports, const char* name, napi_callback fn) {
  napi_value f;
  napi_create_function(env, name, NAPI_AUTO_LENGTH, fn, NULL, &f);
  napi_set_named_property(env, exports, name, f);
}

NAPI_MODULE_INIT() {
  export_fn(env, exports, "key", make_key);
  export_fn(env, exports, "open", open_record);
  export_fn(env, exports, "cbcKey", cbc_key);
  export_fn(env, exports, "cbcDecrypt", cbc_decrypt);
#if OPENSSL_VERSION_MAJOR >= 3
  export_fn(env, exports, "macKey", mac_key);
  export_fn(env, exports, "macVerify", mac_verify);
#endif
  return exports;
}
