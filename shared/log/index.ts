import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** JSON logs on stdout (or `destination`), one logger per component. */
export function createLogger(component: string, level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: { component }, timestamp: pino.stdTimeFunctions.isoTime }, destination ?? process.stdout);
}
