/**
 * The microswarm-tracing impls (issue 13, tracing): the microswarm counter
 * with an OpenTelemetry SDK registered in every thread (the main thread
 * here, the pool thread through `threadSetup`), no span processor.
 *   - `sampled: false` (microswarm-tracing): the SDK's sampler records
 *     nothing (AlwaysOffSampler): asks still ask the SDK for a CLIENT and a
 *     CONSUMER span (non-recording ones) and carry the trace field; the cost
 *     of tracing wired in, with sampling off.
 *   - `sampled: true` (microswarm-tracing-recorded): every span is recorded,
 *     then dropped: the cost before any exporter.
 * Tells made outside a span carry nothing. Same-run ratio against
 * `microswarm` is the cost of tracing.
 */
import { trace } from '@opentelemetry/api';
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { type MicroswarmCounter, startMicroswarmCounter } from './microswarm.js';

const setupUrl = new URL('../actors/tracing-setup.ts', import.meta.url);

export async function startTracedCounter(sampled: boolean): Promise<MicroswarmCounter & { description: string }> {
  // The pool threads read it in tracing-setup.ts (their env is a copy of this one, taken when the pool starts).
  process.env.MICROSWARM_BENCH_TRACE = sampled ? 'on' : 'off';
  trace.setGlobalTracerProvider(new BasicTracerProvider(sampled ? {} : { sampler: new AlwaysOffSampler() }));
  let counter: MicroswarmCounter;
  try {
    counter = await startMicroswarmCounter({ threadSetup: setupUrl });
  } catch (error) {
    trace.disable();
    throw error;
  }
  return {
    description: sampled
      ? 'OpenTelemetry SDK in every thread, every span recorded, no span processor'
      : 'OpenTelemetry SDK in every thread, sampler AlwaysOff (non-recording spans), no span processor',
    get refused() {
      return counter.refused;
    },
    get: () => counter.get(),
    incMany: (count) => counter.incMany(count),
    async close() {
      await counter.close();
      trace.disable();
    },
  };
}
