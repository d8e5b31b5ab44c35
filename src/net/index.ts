export {
  NetDecoder,
  type NetDecoderOptions,
  LINKTYPE_NULL,
  LINKTYPE_ETHERNET,
  LINKTYPE_RAW,
  LINKTYPE_LOOP,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_IPV4,
  LINKTYPE_IPV6,
  LINKTYPE_LINUX_SLL2,
} from './decoder.js';
export { DEFAULT_FRAGMENT_LIMITS, type FragmentLimits } from './fragments.js';
export { formatIpv4, formatIpv6 } from './ip-format.js';
export * from './types.js';
