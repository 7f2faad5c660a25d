// Small types shared by the driver's stages.
import type { RunEvent } from './events';

export type DistributiveOmit<T, K extends keyof any> = T extends unknown ? Omit<T, K> : never;

/** Emits an event; the run adds its time and id. */
export type Emit = (event: DistributiveOmit<RunEvent, 't' | 'runId'>) => void;

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;
