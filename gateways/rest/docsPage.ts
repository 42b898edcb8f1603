// /docs: a self-contained HTML page rendered from the OpenAPI document (no CDN, no scripts).
type Json = Record<string, unknown>;

const esc = (v: unknown): string =>
  String(v ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );

const code = (s: string) => s.replace(/`([^`]+)`/g, '<code>$1</code>');

const refName = (ref: string) => ref.split('/').pop() ?? ref;

const typeOf = (s: Json): string => {
  if (typeof s.$ref === 'string') return `<a href="#schema-${esc(refName(s.$ref))}">${esc(refName(s.$ref))}</a>`;
  if (Array.isArray(s.enum)) return s.enum.map((e) => `<code>${esc(JSON.stringify(e))}</code>`).join(' | ');
  const alts = (s.anyOf ?? s.oneOf) as Json[] | undefined;
  if (Array.isArray(alts)) return alts.map(typeOf).join(' or ');
  if (s.type === 'array') return `array of ${typeOf((s.items as Json | undefined) ?? {})}`;
  const fmt = typeof s.format === 'string' ? ` (${esc(s.format)})` : '';
  return `${esc(s.type ?? 'any')}${fmt}`;
};

const constraints = (s: Json): string => {
  const parts: string[] = [];
  for (const [k, label] of [
    ['minLength', 'min length'],
    ['maxLength', 'max length'],
    ['minItems', 'min items'],
    ['maxItems', 'max items'],
    ['minimum', 'min'],
    ['maximum', 'max'],
    ['exclusiveMinimum', '>'],
    ['default', 'default'],
  ] as const) {
    const v = s[k];
    if (
      v !== undefined &&
      !(k === 'maximum' && v === Number.MAX_SAFE_INTEGER) &&
      !(k === 'minimum' && v === Number.MIN_SAFE_INTEGER)
    )
      parts.push(`${label} ${esc(JSON.stringify(v))}`);
  }
  if (typeof s.pattern === 'string') parts.push(`pattern <code>${esc(s.pattern)}</code>`);
  return parts.join(', ');
};

const fields = (s: Json, depth = 0): string => {
  const props = s.properties as Record<string, Json> | undefined;
  const target =
    props ??
    (s.type === 'array' ? ((s.items as Json | undefined)?.properties as Record<string, Json> | undefined) : undefined);
  if (target === undefined || depth > 3) return '';
  const required = new Set(
    (props !== undefined ? s.required : (s.items as Json | undefined)?.required) as string[] | undefined,
  );
  const rows = Object.entries(target)
    .map(([name, f]) => {
      const nested = fields(f, depth + 1);
      return `<tr><td><code>${esc(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''}</td><td>${typeOf(f)}</td><td>${code(esc(f.description ?? ''))}${constraints(f) === '' ? '' : `<div class="c">${constraints(f)}</div>`}${nested}</td></tr>`;
    })
    .join('');
  return `<table class="fields"><tr><th>field</th><th>type</th><th>meaning</th></tr>${rows}</table>`;
};

const operation = (path: string, method: string, op: Json): string => {
  const params = (op.parameters as Json[] | undefined) ?? [];
  const paramRows = params
    .map(
      (p) =>
        `<tr><td><code>${esc(p.name)}</code> <span class="in">${esc(p.in)}</span>${p.required === true ? ' <span class="req">required</span>' : ''}</td><td>${typeOf((p.schema as Json | undefined) ?? {})}</td><td>${code(esc(p.description ?? ''))}<div class="c">${constraints((p.schema as Json | undefined) ?? {})}</div></td></tr>`,
    )
    .join('');
  const body = op.requestBody as Json | undefined;
  const bodySchema = ((body?.content as Json | undefined)?.['application/json'] as Json | undefined)?.schema as
    Json | undefined;
  const responses = Object.entries((op.responses as Record<string, Json> | undefined) ?? {})
    .map(([status, r]) => {
      const content = Object.entries((r.content as Record<string, Json> | undefined) ?? {})
        .map(([type, c]) => `<code>${esc(type)}</code> ${typeOf((c.schema as Json | undefined) ?? {})}`)
        .join(', ');
      return `<tr><td><b>${esc(status)}</b></td><td>${code(esc(r.description))}</td><td>${content}</td></tr>`;
    })
    .join('');
  return `<section class="op" id="${esc(op.operationId)}">
<h3><span class="m ${esc(method)}">${esc(method.toUpperCase())}</span> <code>${esc(path)}</code></h3>
<p class="sum">${esc(op.summary)}</p>${op.description === undefined ? '' : `<p>${code(esc(op.description))}</p>`}
${paramRows === '' ? '' : `<h4>Parameters</h4><table class="fields"><tr><th>name</th><th>type</th><th>meaning</th></tr>${paramRows}</table>`}
${bodySchema === undefined ? '' : `<h4>Request body${body?.required === true ? '' : ' (optional)'}: <code>application/json</code></h4>${fields(bodySchema) || typeOf(bodySchema)}`}
<h4>Responses</h4><table class="fields"><tr><th>status</th><th>meaning</th><th>body</th></tr>${responses}</table>
</section>`;
};

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:1000px;margin:2em auto;padding:0 1em;color:#222}
code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em;border-radius:3px}
table.fields{border-collapse:collapse;width:100%;margin:.3em 0 1em}td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#fafafa;font-weight:600}.op{border-top:2px solid #eee;padding-top:.5em;margin-top:1.5em}.sum{font-weight:600}
.m{display:inline-block;min-width:3.5em;text-align:center;color:#fff;border-radius:3px;padding:0 .3em;font-size:13px}.get{background:#2b7}.post{background:#27b}
.req{color:#b33;font-size:12px}.in{color:#777;font-size:12px}.c{color:#666;font-size:12px}nav a{margin-right:1em}`;

export const docsPage = (doc: Json): string => {
  const info = doc.info as Json;
  const paths = doc.paths as Record<string, Record<string, Json>>;
  const tags = (doc.tags as Json[]).map((t) => String(t.name));
  const byTag = tags
    .map((tag) => {
      const ops = Object.entries(paths).flatMap(([p, methods]) =>
        Object.entries(methods)
          .filter(([, op]) => (op.tags as string[]).includes(tag))
          .map(([m, op]) => operation(p, m, op)),
      );
      const t = (doc.tags as Json[]).find((x) => x.name === tag);
      return ops.length === 0
        ? ''
        : `<h2 id="tag-${esc(tag)}">${esc(tag)}</h2><p>${esc(t?.description ?? '')}</p>${ops.join('')}`;
    })
    .join('');
  const schemas = Object.entries(((doc.components as Json).schemas as Record<string, Json> | undefined) ?? {})
    .map(
      ([name, s]) =>
        `<section id="schema-${esc(name)}"><h3>${esc(name)}</h3><p>${code(esc(s.description ?? ''))}</p>${fields(s)}</section>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(info.title)}</title><style>${STYLE}</style></head><body>
<h1>${esc(info.title)} <small>${esc(info.version)}</small></h1>
<nav>${tags.map((t) => `<a href="#tag-${esc(t)}">${esc(t)}</a>`).join('')}<a href="#schemas">Schemas</a><a href="/openapi.json">openapi.json</a></nav>
<p>${code(esc(info.description))}</p>${byTag}<h2 id="schemas">Schemas</h2>${schemas}</body></html>`;
};
