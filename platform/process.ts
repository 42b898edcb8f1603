// What every long-running part's `run(config, log)` returns: the CLI runs one alone or several
// under `stockmind start`, reports their readiness on /readyz, and closes them in reverse order on
// SIGTERM.
export type Component = {
  name: string;
  /** Whether the part can do its job now (the core: serve reads); absent = ready while running. */
  ready?(): Promise<boolean>;
  /** A part that serves reads (the core, the edge): in a process that has one, only those decide readiness. */
  servesReads?: boolean;
  close(): Promise<void>;
};
