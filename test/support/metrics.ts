// Reading a Prometheus exposition the way a scraper does: samples by name and labels.
export type Sample = { name: string; labels: Record<string, string>; value: number };

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

export const parseExposition = (text: string): Sample[] =>
  text.split('\n').flatMap((line) => {
    const m = LINE.exec(line.trim());
    if (m === null || line.startsWith('#')) return [];
    const labels = Object.fromEntries([...(m[2] ?? '').matchAll(LABEL)].map((l) => [l[1] ?? '', l[2] ?? '']));
    return [{ name: m[1] ?? '', labels, value: Number(m[3]) }];
  });

/** The sum of a metric's samples whose labels include `labels`; undefined when there is none. */
export const metricSum = (samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined => {
  const matching = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return matching.length === 0 ? undefined : matching.reduce((a, s) => a + s.value, 0);
};

/** GET `url` and parse it, failing on anything but 200. */
export const scrape = async (url: string): Promise<Sample[]> => {
  const res = await fetch(url);
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
  return parseExposition(await res.text());
};

/** The URL a process printed as its probe listener (`metrics and probes on http://…`). */
export const probesUrl = (output: string): string => {
  const m = /metrics and probes on (http:\/\/[\d.]+:\d+)/.exec(output);
  if (m === null) throw new Error(`no probe listener in the output:\n${output}`);
  return m[1] ?? '';
};
