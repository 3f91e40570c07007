// Bounds of the key-value store, named with their unit last.

/** Largest key or value a client may send in a write; the gateway refuses larger ones. */
export const VALUE_BYTES_MAX = 1024 * 1024;

/** Largest string APPEND may build: Redis' default proto-max-bulk-len (512 MiB). */
export const STRING_BYTES_MAX = 512 * 1024 * 1024;

/** SCAN's COUNT when the client gives none (Redis' default). */
export const SCAN_COUNT_DEFAULT = 10;

/** Elements one hash, list, set or sorted set may hold unless configured otherwise. */
export const ELEMENTS_MAX_DEFAULT = 1_000_000;

/** Bytes one key's value may hold unless configured otherwise: Redis' proto-max-bulk-len for a string. */
export const KEY_VALUE_BYTES_MAX_DEFAULT = STRING_BYTES_MAX;
