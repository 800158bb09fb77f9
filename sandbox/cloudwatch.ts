import type { VirtualClock } from './clock.js';

export interface MetricDatum {
  namespace: string;
  name: string;
  unit: string;
  value: number;
  dimensions: Record<string, string>;
  timestamp: string;
}

/**
 * CloudWatch Logs and metrics as Lambda would fill them: Powertools writes structured logs and EMF metrics to
 * stdout; the sandbox captures the handlers' JSON lines while it runs and reads the EMF directives as
 * CloudWatch does (dimensions, units, one datum per value).
 */
export class CloudWatch {
  readonly metrics: MetricDatum[] = [];
  readonly logs: string[] = [];

  constructor(private readonly clock: VirtualClock) {}

  /** Powertools writes logs and EMF metrics to stdout; the sandbox reads them as CloudWatch would. */
  /** Installs the capture; returns what undoes it. */
  capture(): () => void {
    const restores: (() => void)[] = [];
    for (const stream of [process.stdout, process.stderr]) {
      const original = stream.write.bind(stream);
      stream.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
        const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
        // Only the handlers' structured output (JSON lines) is CloudWatch's; anything else passes through.
        if (stream === process.stderr && !text.trimStart().startsWith('{'))
          return original(chunk, ...(rest as []));
        for (const line of text.split('\n')) if (line.trim()) this.readOutputLine(line);
        const callback = rest.find((arg) => typeof arg === 'function') as (() => void) | undefined;
        callback?.();
        return true;
      }) as typeof stream.write;
      restores.push(() => {
        stream.write = original;
      });
    }
    return () => {
      for (const restore of restores) restore();
    };
  }

  private readOutputLine(line: string): void {
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.logs.push(line);
      return;
    }
    const emf = parsed._aws as
      | {
          Timestamp?: number;
          CloudWatchMetrics?: {
            Namespace: string;
            Dimensions: string[][];
            Metrics: { Name: string; Unit?: string }[];
          }[];
        }
      | undefined;
    if (!emf?.CloudWatchMetrics) {
      this.logs.push(line);
      return;
    }
    for (const directive of emf.CloudWatchMetrics) {
      const dimensions = Object.fromEntries(
        (directive.Dimensions[0] ?? []).map((name) => [name, String(parsed[name])]),
      );
      for (const metric of directive.Metrics) {
        const raw = parsed[metric.Name];
        for (const value of Array.isArray(raw) ? raw : [raw]) {
          this.metrics.push({
            namespace: directive.Namespace,
            name: metric.Name,
            unit: metric.Unit ?? 'None',
            value: Number(value),
            dimensions,
            timestamp: new Date(emf.Timestamp ?? this.clock.now).toISOString(),
          });
        }
      }
    }
  }
}
