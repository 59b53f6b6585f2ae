import { pino, type DestinationStream, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** JSON logs on stdout (or `destination`), one logger per component. */
export function createLogger(component: string, level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? process.stdout);
}

/** A log file, appended to (pino's own destination, written from a buffer). */
export function logFile(path: string): DestinationStream {
  return pino.destination({ dest: path, append: true, mkdir: true, sync: false });
}
