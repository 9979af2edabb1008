// Placeholder for the GitHub settings (awareness:github). The GitHub part owns the real
// sub-schema (components/github/config.ts, `githubConfigSchema`); until it lands, any object
// is accepted here and nothing in the program reads it.
import { z } from "zod";

export const githubConfigSchema = z.looseObject({});
