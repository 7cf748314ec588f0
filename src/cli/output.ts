/** A problem the CLI explains in one line (`keyward: ...`) before exiting 1. */
export class CliError extends Error {}

/** Results on stdout, hints on stderr (so `keyward token create --json | jq` stays clean). */
export interface Output {
  line(text: string): void;
  write(text: string): void;
  note(text: string): void;
}

export const consoleOutput: Output = {
  line: (text) => void process.stdout.write(text + '\n'),
  write: (text) => void process.stdout.write(text),
  note: (text) => void process.stderr.write(text + '\n'),
};
