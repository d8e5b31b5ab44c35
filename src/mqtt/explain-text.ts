/**
 * Text of the field tree: values and one-line explanations computed from the bytes (bit patterns, the Variable Byte
 * Integer arithmetic, durations). Only the tree needs these, so nothing here runs unless a mode shows the tree.
 */
import type { PropertyInfo } from './tables.js';
import type { BytesValue } from './utf8.js';

/** Longest value text put in a tree node (the renderer shows lines, not megabytes). */
export const MAX_VALUE_CHARS = 200;

/** "1100 0010" with bits outside `mask` shown as dots. */
export function bits(v: number, mask: number): string {
  let s = '';
  for (let i = 7; i >= 0; i--) {
    s += (mask >> i) & 1 ? String((v >> i) & 1) : '.';
    if (i === 4) s += ' ';
  }
  return s;
}

export function hex1(v: number): string {
  return '0x' + v.toString(16).padStart(2, '0');
}

export function hex2(v: number): string {
  return '0x' + v.toString(16).padStart(4, '0');
}

/** Bytes as spaced hex for display ("82 01"), clipped. */
export function hexValue(b: Uint8Array, start: number, end: number): string {
  const max = Math.min(end, start + 32);
  let s = '';
  for (let i = start; i < max; i++) s += (i > start ? ' ' : '') + b[i]!.toString(16).padStart(2, '0');
  if (end > max) s += ` … (${end - start} byte${end - start === 1 ? '' : 's'})`;
  return s;
}

export function clipHex(h: string): string {
  return h.length > MAX_VALUE_CHARS ? `${h.slice(0, MAX_VALUE_CHARS)}…` : h;
}

/** A value shortened for a problem message. */
export function clip(s: string): string {
  return s.length > 60 ? `${s.slice(0, 60)}…` : s;
}

export function quote(s: string): string {
  return JSON.stringify(s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}…` : s);
}

export function cpName(cp: number): string {
  return 'U+' + cp.toString(16).toUpperCase().padStart(4, '0');
}

export function fmtNum(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

export function duration(sec: number): string {
  const h = Math.floor(sec / 3600);
  const m = Math.floor((sec % 3600) / 60);
  const s = sec % 60;
  const parts: string[] = [];
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s || parts.length === 0) parts.push(`${s} s`);
  return parts.join(' ');
}

/** "45 (one byte: 0x2d < 128)" or "2 + 1x128 = 130" for a Variable Byte Integer of `length` bytes at `at`. */
export function vbiExplain(b: Uint8Array, at: number, length: number, value: number, nonMinimal: boolean): string {
  if (length === 1) return `${value} (one byte: ${hex1(b[at]!)} < 128)`;
  const terms: string[] = [];
  let mult = 1;
  for (let i = 0; i < length; i++) {
    const digit = b[at + i]! & 0x7f;
    terms.push(i === 0 ? String(digit) : `${digit}x${mult}`);
    mult *= 128;
  }
  return `${terms.join(' + ')} = ${value}${nonMinimal ? ' (not the shortest encoding)' : ''}`;
}

export const RETAIN_HANDLING = [
  ' (send retained messages at subscribe)',
  ' (send retained only if the subscription is new)',
  ' (do not send retained messages)',
  ' (invalid)',
];

export function bytesValueText(p: BytesValue): string {
  return p.encoding === 'utf8' ? quote(p.text) : clipHex(p.data);
}

export function payloadExplain(total: number, p: BytesValue): string {
  const what = p.encoding === 'utf8' ? 'UTF-8 text' : 'binary';
  return `${total} byte${total === 1 ? '' : 's'}, ${what} (length = Remaining Length minus the variable header)`;
}

/** A property value as a tree shows it. */
export type PropertyValue = number | string | [string, string] | BytesValue;

export function propertyDisplay(value: PropertyValue): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return quote(value);
  if (Array.isArray(value)) return `${quote(value[0])} = ${quote(value[1])}`;
  return bytesValueText(value);
}

export function propertyNote(info: PropertyInfo, value: PropertyValue): string {
  if (typeof value !== 'number') return '';
  switch (info.id) {
    case 0x02: case 0x11: case 0x18:
      if (info.id === 0x11 && value === 0xffffffff) return ': never expires';
      return value >= 60 ? `: ${value} s (${duration(value)})` : `: ${value} s`;
    case 0x13:
      return `: ${value} s`;
    case 0x01:
      return value === 0 ? ': unspecified bytes' : value === 1 ? ': UTF-8 payload' : '';
    case 0x24:
      return `: QoS ${value}`;
    default:
      return '';
  }
}
