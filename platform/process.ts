// What every long-running part's `run(config, log)` returns: the CLI runs one alone or several
// under `stockmind start`, and closes them in reverse order on SIGTERM.
export type Component = { name: string; close(): Promise<void> };
