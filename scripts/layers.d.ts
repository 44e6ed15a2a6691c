// Types for scripts/layers.js (plain JavaScript so that eslint.config.js can load it without a build).

/** The repository's root folder. */
export const ROOT: string;
/** The repository's src/ folder. */
export const SRC: string;
/** For each top-level entry of src/, the other entries it may import from (`'*'`: all). */
export const LAYERS: Record<string, string[] | '*'>;
/** The top-level entries of src/ (folders and files), as named in LAYERS. */
export function srcEntries(): string[];
/** The `import-x/no-restricted-paths` zones built from LAYERS. */
export function layerZones(): { target: string; from: string[]; message: string }[];
