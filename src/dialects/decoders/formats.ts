/**
 * The payload formats every decoding thread knows: the registry with the built-in formats, then each module that
 * registers one. Everything that binds or compiles formats (the dialect stage, the CLI's checks) imports this module,
 * so a format registered by a module imported here exists in the main thread and in the --threads 2 render worker
 * alike. A module that registers `sparkplug` or `protobuf` (registerPayloadFormat) is added as a side-effect import
 * below.
 */
export * from './registry.js';
import './protobuf.js';
