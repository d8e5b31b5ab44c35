/**
 * TLS protocol knowledge as data: cipher suite names (IANA TLS Cipher Suites registry), the bulk ciphers and MACs
 * their names are made of, record content types, handshake types, extension ids and alert descriptions
 * (RFC 5246, RFC 8446, RFC 7905, RFC 6655, RFC 7251, RFC 7366).
 */

/** The secrets type of a pcapng Decryption Secrets Block that holds an NSS key log ('TLSK'). */
export const SECRETS_TLS_KEY_LOG = 0x544c534b;

/** Record content types (RFC 8446 5.1). */
export const CT_CHANGE_CIPHER_SPEC = 20;
export const CT_ALERT = 21;
export const CT_HANDSHAKE = 22;
export const CT_APPLICATION_DATA = 23;
export const CT_HEARTBEAT = 24;

export const CONTENT_TYPE_NAME: Readonly<Record<number, string>> = {
  20: 'change_cipher_spec', 21: 'alert', 22: 'handshake', 23: 'application_data', 24: 'heartbeat',
};

/** Handshake message types (RFC 8446 4, RFC 5246 7.4). */
export const HS_CLIENT_HELLO = 1;
export const HS_SERVER_HELLO = 2;
export const HS_NEW_SESSION_TICKET = 4;
export const HS_CERTIFICATE = 11;
export const HS_FINISHED = 20;
export const HS_KEY_UPDATE = 24;

export const HANDSHAKE_TYPE_NAME: Readonly<Record<number, string>> = {
  0: 'hello_request', 1: 'client_hello', 2: 'server_hello', 4: 'new_session_ticket', 5: 'end_of_early_data',
  8: 'encrypted_extensions', 11: 'certificate', 12: 'server_key_exchange', 13: 'certificate_request',
  14: 'server_hello_done', 15: 'certificate_verify', 16: 'client_key_exchange', 20: 'finished', 22: 'certificate_status',
  24: 'key_update', 254: 'message_hash',
};

/** Extension ids used here (IANA TLS ExtensionType Values). */
export const EXT_SERVER_NAME = 0;
export const EXT_ALPN = 16;
export const EXT_EXTENDED_MASTER_SECRET = 23;
export const EXT_ENCRYPT_THEN_MAC = 22;
export const EXT_SESSION_TICKET = 35;
export const EXT_PRE_SHARED_KEY = 41;
export const EXT_SUPPORTED_VERSIONS = 43;

/** Protocol versions on the wire. */
export const VERSION_NAME: Readonly<Record<number, string>> = {
  0x0300: 'SSL 3.0', 0x0301: 'TLS 1.0', 0x0302: 'TLS 1.1', 0x0303: 'TLS 1.2', 0x0304: 'TLS 1.3',
};
export const TLS10 = 0x0301;
export const TLS11 = 0x0302;
export const TLS12 = 0x0303;
export const TLS13 = 0x0304;

export function versionName(v: number): string {
  return VERSION_NAME[v] ?? `0x${v.toString(16).padStart(4, '0')}`;
}

/** Alert descriptions (RFC 8446 6, RFC 5246 7.2). */
export const ALERT_NAME: Readonly<Record<number, string>> = {
  0: 'close_notify', 10: 'unexpected_message', 20: 'bad_record_mac', 21: 'decryption_failed', 22: 'record_overflow',
  30: 'decompression_failure', 40: 'handshake_failure', 41: 'no_certificate', 42: 'bad_certificate',
  43: 'unsupported_certificate', 44: 'certificate_revoked', 45: 'certificate_expired', 46: 'certificate_unknown',
  47: 'illegal_parameter', 48: 'unknown_ca', 49: 'access_denied', 50: 'decode_error', 51: 'decrypt_error',
  60: 'export_restriction', 70: 'protocol_version', 71: 'insufficient_security', 80: 'internal_error',
  86: 'inappropriate_fallback', 90: 'user_canceled', 100: 'no_renegotiation', 109: 'missing_extension',
  110: 'unsupported_extension', 111: 'certificate_unobtainable', 112: 'unrecognized_name',
  113: 'bad_certificate_status_response', 114: 'bad_certificate_hash_value', 115: 'unknown_psk_identity',
  116: 'certificate_required', 120: 'no_application_protocol',
};
export const ALERT_LEVEL_NAME: Readonly<Record<number, string>> = { 1: 'warning', 2: 'fatal' };

/** IANA TLS Cipher Suites: the ones seen in practice, and every weak family a finding is about. */
const SUITES: readonly (readonly [number, string])[] = [
  [0x0000, 'TLS_NULL_WITH_NULL_NULL'],
  [0x0001, 'TLS_RSA_WITH_NULL_MD5'],
  [0x0002, 'TLS_RSA_WITH_NULL_SHA'],
  [0x0003, 'TLS_RSA_EXPORT_WITH_RC4_40_MD5'],
  [0x0004, 'TLS_RSA_WITH_RC4_128_MD5'],
  [0x0005, 'TLS_RSA_WITH_RC4_128_SHA'],
  [0x0006, 'TLS_RSA_EXPORT_WITH_RC2_CBC_40_MD5'],
  [0x0007, 'TLS_RSA_WITH_IDEA_CBC_SHA'],
  [0x0008, 'TLS_RSA_EXPORT_WITH_DES40_CBC_SHA'],
  [0x0009, 'TLS_RSA_WITH_DES_CBC_SHA'],
  [0x000a, 'TLS_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0x0011, 'TLS_DHE_DSS_EXPORT_WITH_DES40_CBC_SHA'],
  [0x0013, 'TLS_DHE_DSS_WITH_3DES_EDE_CBC_SHA'],
  [0x0014, 'TLS_DHE_RSA_EXPORT_WITH_DES40_CBC_SHA'],
  [0x0016, 'TLS_DHE_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0x0017, 'TLS_DH_anon_EXPORT_WITH_RC4_40_MD5'],
  [0x0018, 'TLS_DH_anon_WITH_RC4_128_MD5'],
  [0x001b, 'TLS_DH_anon_WITH_3DES_EDE_CBC_SHA'],
  [0x002c, 'TLS_PSK_WITH_NULL_SHA'],
  [0x002f, 'TLS_RSA_WITH_AES_128_CBC_SHA'],
  [0x0032, 'TLS_DHE_DSS_WITH_AES_128_CBC_SHA'],
  [0x0033, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA'],
  [0x0034, 'TLS_DH_anon_WITH_AES_128_CBC_SHA'],
  [0x0035, 'TLS_RSA_WITH_AES_256_CBC_SHA'],
  [0x0038, 'TLS_DHE_DSS_WITH_AES_256_CBC_SHA'],
  [0x0039, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA'],
  [0x003a, 'TLS_DH_anon_WITH_AES_256_CBC_SHA'],
  [0x003b, 'TLS_RSA_WITH_NULL_SHA256'],
  [0x003c, 'TLS_RSA_WITH_AES_128_CBC_SHA256'],
  [0x003d, 'TLS_RSA_WITH_AES_256_CBC_SHA256'],
  [0x0040, 'TLS_DHE_DSS_WITH_AES_128_CBC_SHA256'],
  [0x0067, 'TLS_DHE_RSA_WITH_AES_128_CBC_SHA256'],
  [0x006a, 'TLS_DHE_DSS_WITH_AES_256_CBC_SHA256'],
  [0x006b, 'TLS_DHE_RSA_WITH_AES_256_CBC_SHA256'],
  [0x006c, 'TLS_DH_anon_WITH_AES_128_CBC_SHA256'],
  [0x006d, 'TLS_DH_anon_WITH_AES_256_CBC_SHA256'],
  [0x008c, 'TLS_PSK_WITH_AES_128_CBC_SHA'],
  [0x008d, 'TLS_PSK_WITH_AES_256_CBC_SHA'],
  [0x009c, 'TLS_RSA_WITH_AES_128_GCM_SHA256'],
  [0x009d, 'TLS_RSA_WITH_AES_256_GCM_SHA384'],
  [0x009e, 'TLS_DHE_RSA_WITH_AES_128_GCM_SHA256'],
  [0x009f, 'TLS_DHE_RSA_WITH_AES_256_GCM_SHA384'],
  [0x00a2, 'TLS_DHE_DSS_WITH_AES_128_GCM_SHA256'],
  [0x00a3, 'TLS_DHE_DSS_WITH_AES_256_GCM_SHA384'],
  [0x00a6, 'TLS_DH_anon_WITH_AES_128_GCM_SHA256'],
  [0x00a7, 'TLS_DH_anon_WITH_AES_256_GCM_SHA384'],
  [0x00a8, 'TLS_PSK_WITH_AES_128_GCM_SHA256'],
  [0x00a9, 'TLS_PSK_WITH_AES_256_GCM_SHA384'],
  [0x00ae, 'TLS_PSK_WITH_AES_128_CBC_SHA256'],
  [0x00af, 'TLS_PSK_WITH_AES_256_CBC_SHA384'],
  [0x00b0, 'TLS_PSK_WITH_NULL_SHA256'],
  [0x00ff, 'TLS_EMPTY_RENEGOTIATION_INFO_SCSV'],
  [0x1301, 'TLS_AES_128_GCM_SHA256'],
  [0x1302, 'TLS_AES_256_GCM_SHA384'],
  [0x1303, 'TLS_CHACHA20_POLY1305_SHA256'],
  [0x1304, 'TLS_AES_128_CCM_SHA256'],
  [0x1305, 'TLS_AES_128_CCM_8_SHA256'],
  [0x5600, 'TLS_FALLBACK_SCSV'],
  [0xc001, 'TLS_ECDH_ECDSA_WITH_NULL_SHA'],
  [0xc002, 'TLS_ECDH_ECDSA_WITH_RC4_128_SHA'],
  [0xc004, 'TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA'],
  [0xc005, 'TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA'],
  [0xc006, 'TLS_ECDHE_ECDSA_WITH_NULL_SHA'],
  [0xc007, 'TLS_ECDHE_ECDSA_WITH_RC4_128_SHA'],
  [0xc008, 'TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc009, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA'],
  [0xc00a, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA'],
  [0xc00b, 'TLS_ECDH_RSA_WITH_NULL_SHA'],
  [0xc00c, 'TLS_ECDH_RSA_WITH_RC4_128_SHA'],
  [0xc010, 'TLS_ECDHE_RSA_WITH_NULL_SHA'],
  [0xc011, 'TLS_ECDHE_RSA_WITH_RC4_128_SHA'],
  [0xc012, 'TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA'],
  [0xc013, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA'],
  [0xc014, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA'],
  [0xc015, 'TLS_ECDH_anon_WITH_NULL_SHA'],
  [0xc016, 'TLS_ECDH_anon_WITH_RC4_128_SHA'],
  [0xc017, 'TLS_ECDH_anon_WITH_3DES_EDE_CBC_SHA'],
  [0xc018, 'TLS_ECDH_anon_WITH_AES_128_CBC_SHA'],
  [0xc019, 'TLS_ECDH_anon_WITH_AES_256_CBC_SHA'],
  [0xc023, 'TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256'],
  [0xc024, 'TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384'],
  [0xc025, 'TLS_ECDH_ECDSA_WITH_AES_128_CBC_SHA256'],
  [0xc026, 'TLS_ECDH_ECDSA_WITH_AES_256_CBC_SHA384'],
  [0xc027, 'TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256'],
  [0xc028, 'TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384'],
  [0xc029, 'TLS_ECDH_RSA_WITH_AES_128_CBC_SHA256'],
  [0xc02a, 'TLS_ECDH_RSA_WITH_AES_256_CBC_SHA384'],
  [0xc02b, 'TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'],
  [0xc02c, 'TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384'],
  [0xc02d, 'TLS_ECDH_ECDSA_WITH_AES_128_GCM_SHA256'],
  [0xc02e, 'TLS_ECDH_ECDSA_WITH_AES_256_GCM_SHA384'],
  [0xc02f, 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256'],
  [0xc030, 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384'],
  [0xc031, 'TLS_ECDH_RSA_WITH_AES_128_GCM_SHA256'],
  [0xc032, 'TLS_ECDH_RSA_WITH_AES_256_GCM_SHA384'],
  [0xc035, 'TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA'],
  [0xc036, 'TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA'],
  [0xc037, 'TLS_ECDHE_PSK_WITH_AES_128_CBC_SHA256'],
  [0xc038, 'TLS_ECDHE_PSK_WITH_AES_256_CBC_SHA384'],
  [0xc039, 'TLS_ECDHE_PSK_WITH_NULL_SHA'],
  [0xc09c, 'TLS_RSA_WITH_AES_128_CCM'],
  [0xc09d, 'TLS_RSA_WITH_AES_256_CCM'],
  [0xc09e, 'TLS_DHE_RSA_WITH_AES_128_CCM'],
  [0xc09f, 'TLS_DHE_RSA_WITH_AES_256_CCM'],
  [0xc0a0, 'TLS_RSA_WITH_AES_128_CCM_8'],
  [0xc0a1, 'TLS_RSA_WITH_AES_256_CCM_8'],
  [0xc0a2, 'TLS_DHE_RSA_WITH_AES_128_CCM_8'],
  [0xc0a3, 'TLS_DHE_RSA_WITH_AES_256_CCM_8'],
  [0xc0a4, 'TLS_PSK_WITH_AES_128_CCM'],
  [0xc0a5, 'TLS_PSK_WITH_AES_256_CCM'],
  [0xc0a8, 'TLS_PSK_WITH_AES_128_CCM_8'],
  [0xc0a9, 'TLS_PSK_WITH_AES_256_CCM_8'],
  [0xc0ac, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM'],
  [0xc0ad, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM'],
  [0xc0ae, 'TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8'],
  [0xc0af, 'TLS_ECDHE_ECDSA_WITH_AES_256_CCM_8'],
  [0xcca8, 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xcca9, 'TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccaa, 'TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccab, 'TLS_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccac, 'TLS_ECDHE_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccad, 'TLS_DHE_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xccae, 'TLS_RSA_PSK_WITH_CHACHA20_POLY1305_SHA256'],
  [0xd001, 'TLS_ECDHE_PSK_WITH_AES_128_GCM_SHA256'],
  [0xd002, 'TLS_ECDHE_PSK_WITH_AES_256_GCM_SHA384'],
  [0xd005, 'TLS_ECDHE_PSK_WITH_AES_128_CCM_SHA256'],
];

export const CIPHER_SUITE_NAME: ReadonlyMap<number, string> = new Map(SUITES);

export function suiteName(id: number): string {
  const n = CIPHER_SUITE_NAME.get(id);
  if (n !== undefined) return n;
  // GREASE values (RFC 8701) are 0x?A?A with both bytes equal.
  if ((id & 0x0f0f) === 0x0a0a && id >> 8 === (id & 0xff)) return `GREASE 0x${id.toString(16)}`;
  return `0x${id.toString(16).padStart(4, '0')}`;
}

/** Bulk ciphers, by the part of a suite's name between WITH_ and the MAC (or the whole tail in TLS 1.3). */
export type CipherKind = 'gcm' | 'ccm' | 'chacha' | 'cbc' | 'null';

/** AEAD ciphers (RFC 5116): their records carry a tag and no MAC. */
export function isAead(kind: CipherKind): boolean {
  return kind === 'gcm' || kind === 'ccm' || kind === 'chacha';
}
export interface BulkCipher {
  /** Node's (OpenSSL's) cipher name; '' for NULL. */
  node: string;
  kind: CipherKind;
  keyLen: number;
  /** AEAD tag length, or the CBC block size. */
  tagLen: number;
  blockLen: number;
}
export const BULK_CIPHERS: Readonly<Record<string, BulkCipher>> = {
  AES_128_GCM: { node: 'aes-128-gcm', kind: 'gcm', keyLen: 16, tagLen: 16, blockLen: 0 },
  AES_256_GCM: { node: 'aes-256-gcm', kind: 'gcm', keyLen: 32, tagLen: 16, blockLen: 0 },
  AES_128_CCM: { node: 'aes-128-ccm', kind: 'ccm', keyLen: 16, tagLen: 16, blockLen: 0 },
  AES_256_CCM: { node: 'aes-256-ccm', kind: 'ccm', keyLen: 32, tagLen: 16, blockLen: 0 },
  AES_128_CCM_8: { node: 'aes-128-ccm', kind: 'ccm', keyLen: 16, tagLen: 8, blockLen: 0 },
  AES_256_CCM_8: { node: 'aes-256-ccm', kind: 'ccm', keyLen: 32, tagLen: 8, blockLen: 0 },
  CHACHA20_POLY1305: { node: 'chacha20-poly1305', kind: 'chacha', keyLen: 32, tagLen: 16, blockLen: 0 },
  AES_128_CBC: { node: 'aes-128-cbc', kind: 'cbc', keyLen: 16, tagLen: 0, blockLen: 16 },
  AES_256_CBC: { node: 'aes-256-cbc', kind: 'cbc', keyLen: 32, tagLen: 0, blockLen: 16 },
  '3DES_EDE_CBC': { node: 'des-ede3-cbc', kind: 'cbc', keyLen: 24, tagLen: 0, blockLen: 8 },
  NULL: { node: '', kind: 'null', keyLen: 0, tagLen: 0, blockLen: 0 },
};

/** Hashes by their name in a suite (as MAC of a CBC/NULL suite, as PRF or HKDF hash otherwise). */
export const HASHES: Readonly<Record<string, { node: string; len: number }>> = {
  MD5: { node: 'md5', len: 16 },
  SHA: { node: 'sha1', len: 20 },
  SHA256: { node: 'sha256', len: 32 },
  SHA384: { node: 'sha384', len: 48 },
};

/** How a suite's records are protected, read from its name; null when we cannot decrypt it (named in the event). */
export interface SuiteParams {
  name: string;
  cipher: BulkCipher;
  /** CBC and NULL suites: the record MAC; null for AEAD. */
  mac: { node: string; len: number } | null;
  /** TLS 1.2 PRF hash / TLS 1.3 HKDF hash. */
  prf: { node: string; len: number };
  tls13: boolean;
}

export function suiteParams(id: number): SuiteParams | null {
  const name = CIPHER_SUITE_NAME.get(id);
  if (name === undefined) return null;
  let m = /^TLS_((?:AES|CHACHA20)_[A-Z0-9_]+?)_(SHA256|SHA384)$/.exec(name);
  if (m !== null && !name.includes('_WITH_')) {
    const cipher = BULK_CIPHERS[m[1]!];
    return cipher ? { name, cipher, mac: null, prf: HASHES[m[2]!]!, tls13: true } : null;
  }
  m = /_WITH_([A-Z0-9_]+?)(?:_(MD5|SHA|SHA256|SHA384))?$/.exec(name);
  if (m === null || name.includes('EXPORT')) return null;
  const cipher = BULK_CIPHERS[m[1]!];
  if (cipher === undefined) return null;
  const hash = m[2];
  const aead = isAead(cipher.kind);
  if (!aead && hash === undefined) return null;
  // TLS 1.2 (RFC 5246 5): the PRF is SHA-256 unless the suite names SHA-384.
  const prf = hash === 'SHA384' ? HASHES.SHA384! : HASHES.SHA256!;
  return { name, cipher, mac: aead ? null : HASHES[hash!]!, prf, tls13: false };
}

/** Weak suite families a finding is about, read from the suite name. */
export function suiteWeakness(id: number): string | null {
  const name = CIPHER_SUITE_NAME.get(id);
  if (name === undefined) return null;
  if (name.includes('_EXPORT_')) return 'EXPORT';
  if (/_WITH_NULL_/.test(name) || name === 'TLS_NULL_WITH_NULL_NULL') return 'NULL';
  if (name.includes('_RC4_')) return 'RC4';
  if (name.includes('_anon_')) return 'anonymous';
  return null;
}
