/** Where Distillery writes what it is doing. */
export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

/** Writes to the console with a `[distillery]` prefix. */
export const consoleLogger: Logger = {
  info: (m) => console.log(`[distillery] ${m}`),
  warn: (m) => console.warn(`[distillery] ${m}`),
};

/** Drops everything (tests, embedding in other tools). */
export const silentLogger: Logger = { info: () => {}, warn: () => {} };
