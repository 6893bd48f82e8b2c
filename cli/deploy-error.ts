/** The one error `imaas deploy` raises for user input (the run, its change detection and its targets throw it). */
import { DiffError } from "./diff-git";

/**
 * Input that stops `imaas deploy` before or after the fan-out (exit 1, message without a stack trace).
 * It extends DiffError so that cli/main.ts's existing user-error handling applies to it unchanged.
 */
export class DeployError extends DiffError {}
