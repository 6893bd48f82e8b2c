// Harbor's naming rule, shared by projects and robot accounts. Plain: captured by value into the providers.

/** Harbor's project and robot name rule (its project manager and robot handler use the same pattern). */
export const HARBOR_NAME_PATTERN = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
