// One round over several hosts: each host's prober at once, its samples named by the host
// ("web-2 /api/health"), so the verdict's rules (consecutive failures, success rate) hold over
// the batch and a failure says where it happened.
import type { Prober } from "./probers.js";

export function combinedProber(hosts: readonly { name: string; prober: Prober }[]): Prober {
  return {
    probe: async (round, signal) => {
      const rounds = await Promise.all(hosts.map((h) => h.prober.probe(round, signal)));
      return rounds.flatMap((samples, i) => samples.map((s) => ({ ...s, endpoint: `${hosts[i]!.name} ${s.endpoint}` })));
    },
  };
}
