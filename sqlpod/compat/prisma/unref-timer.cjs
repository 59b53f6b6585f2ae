// Preloaded (node --require) into the Prisma CLI by sqlpod/compat/prisma.test.ts.
// prisma@6.19.3's Wasm schema engine arms a 10 s timer (its advisory-lock wait)
// and never clears it, so every CLI run would idle ~10 s before exiting. Unref'ing
// that one timer lets the process exit when its work is done; a deploy that is
// really waiting for the lock is kept alive by its open connection instead.
'use strict';
const set = globalThis.setTimeout;
globalThis.setTimeout = function setTimeout(fn, ms, ...args) {
  const timer = set.call(this, fn, ms, ...args);
  if (ms === 10_000) timer.unref();
  return timer;
};
