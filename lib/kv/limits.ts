// Bounds of the key-value store, named with their unit last.

/** Largest key or value a client may send in a write; the gateway refuses larger ones. */
export const VALUE_BYTES_MAX = 1024 * 1024;

/** Largest string APPEND may build: Redis' default proto-max-bulk-len (512 MiB). */
export const STRING_BYTES_MAX = 512 * 1024 * 1024;

/** SCAN's COUNT when the client gives none (Redis' default). */
export const SCAN_COUNT_DEFAULT = 10;
