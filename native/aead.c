/*
 * AEAD record opening for the TLS layer (src/transport/tls/aead.ts) with a cipher context kept per key.
 *
 * Why this exists: Node's crypto API makes a new decipher for every record (it cannot re-IV one), and that costs
 * about 3.5 us per record: 11 times the decryption itself for the ~210-byte records MQTT clients write. OpenSSL's EVP
 * API, the same library Node's crypto runs on (its symbols are exported by the node binary), can keep one context per
 * key and set only the next record's nonce. No cipher is written here: this is EVP_Decrypt* with the key schedule done
 * once. If this file cannot be built, the layer uses Node's crypto and gives the same results, only slower.
 *
 * Only AES-GCM and ChaCha20-Poly1305 (16-byte tags, 12-byte nonces). Every argument is checked; nothing is allocated
 * per call; the plaintext goes into a buffer the caller owns.
 */
#include <node_api.h>
#include <openssl/evp.h>
#include <stdlib.h>

#define TAG_LEN 16
#define NONCE_LEN 12

typedef struct {
  EVP_CIPHER_CTX* ctx;
} Key;

static void key_free(napi_env env, void* data, void* hint) {
  (void)env; (void)hint;
  Key* k = (Key*)data;
  EVP_CIPHER_CTX_free(k->ctx);
  free(k);
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

/* key(name, keyBytes): an external holding a decryption context for that cipher and key; throws on a bad argument. */
static napi_value make_key(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 2) {
    napi_throw_type_error(env, NULL, "key(name, keyBytes)");
    return NULL;
  }
  char name[32];
  size_t nameLen = 0;
  if (napi_get_value_string_utf8(env, argv[0], name, sizeof name, &nameLen) != napi_ok) {
    napi_throw_type_error(env, NULL, "cipher name must be a string");
    return NULL;
  }
  const EVP_CIPHER* cipher = EVP_get_cipherbyname(name);
  if (cipher == NULL || (EVP_CIPHER_mode(cipher) != EVP_CIPH_GCM_MODE && EVP_CIPHER_nid(cipher) != NID_chacha20_poly1305)) {
    napi_throw_error(env, NULL, "only AES-GCM and ChaCha20-Poly1305 are supported");
    return NULL;
  }
  unsigned char* key;
  size_t keyLen;
  if (!bytes_of(env, argv[1], &key, &keyLen) || (int)keyLen != EVP_CIPHER_key_length(cipher)) {
    napi_throw_type_error(env, NULL, "key must be a Uint8Array of the cipher's key length");
    return NULL;
  }
  Key* k = (Key*)malloc(sizeof(Key));
  if (k == NULL) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  k->ctx = EVP_CIPHER_CTX_new();
  if (k->ctx == NULL || EVP_DecryptInit_ex(k->ctx, cipher, NULL, NULL, NULL) != 1 ||
      EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_AEAD_SET_IVLEN, NONCE_LEN, NULL) != 1 ||
      EVP_DecryptInit_ex(k->ctx, NULL, NULL, key, NULL) != 1) {
    EVP_CIPHER_CTX_free(k->ctx);
    free(k);
    napi_throw_error(env, NULL, "cipher context set-up failed");
    return NULL;
  }
  napi_value ext;
  if (napi_create_external(env, k, key_free, NULL, &ext) != napi_ok) {
    key_free(env, k, NULL);
    napi_throw_error(env, NULL, "cipher context set-up failed");
    return NULL;
  }
  return ext;
}

/*
 * open(key, nonce, aad, sealed, out): decrypts sealed = ciphertext || 16-byte tag into out[0 .. n) and returns n, or
 * -1 when the tag does not verify. Throws on a bad argument (wrong types, a nonce not 12 bytes, out too small).
 */
static napi_value open_record(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < 5) {
    napi_throw_type_error(env, NULL, "open(key, nonce, aad, sealed, out)");
    return NULL;
  }
  Key* k;
  napi_valuetype t;
  if (napi_typeof(env, argv[0], &t) != napi_ok || t != napi_external || napi_get_value_external(env, argv[0], (void**)&k) != napi_ok) {
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
  if (nonceLen != NONCE_LEN || sealedLen < TAG_LEN || sealedLen - TAG_LEN > outLen || sealedLen > 0x7fffffff || aadLen > 0x7fffffff) {
    napi_throw_range_error(env, NULL, "nonce must be 12 bytes, sealed at least a tag, out as long as the plaintext");
    return NULL;
  }
  int n = (int)(sealedLen - TAG_LEN);
  int got = 0, fin = 0, result = -1;
  if (EVP_DecryptInit_ex(k->ctx, NULL, NULL, NULL, nonce) == 1 &&
      EVP_CIPHER_CTX_ctrl(k->ctx, EVP_CTRL_AEAD_SET_TAG, TAG_LEN, sealed + n) == 1 &&
      (aadLen == 0 || EVP_DecryptUpdate(k->ctx, NULL, &got, aad, (int)aadLen) == 1) &&
      (n == 0 || EVP_DecryptUpdate(k->ctx, out, &got, sealed, n) == 1) &&
      EVP_DecryptFinal_ex(k->ctx, out + (n == 0 ? 0 : got), &fin) == 1) {
    result = n;
  }
  napi_value r;
  napi_create_int32(env, result, &r);
  return r;
}

NAPI_MODULE_INIT() {
  napi_value f;
  napi_create_function(env, "key", NAPI_AUTO_LENGTH, make_key, NULL, &f);
  napi_set_named_property(env, exports, "key", f);
  napi_create_function(env, "open", NAPI_AUTO_LENGTH, open_record, NULL, &f);
  napi_set_named_property(env, exports, "open", f);
  return exports;
}
