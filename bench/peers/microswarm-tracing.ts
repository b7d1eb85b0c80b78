/**
 * The microswarm-tracing impl (issue 13, tracing): the microswarm counter with
 * an OpenTelemetry SDK registered in every thread (the main thread here, the
 * pool thread through `threadSetup`), no span processor: asks make a CLIENT
 * and a CONSUMER span and carry a trace field; tells made outside a span
 * carry nothing. Same-run ratio against `microswarm` is the cost of tracing.
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';
import { type MicroswarmCounter, startMicroswarmCounter } from './microswarm.js';

const setupUrl = new URL('../actors/tracing-setup.ts', import.meta.url);

export async function startTracedCounter(): Promise<MicroswarmCounter & { description: string }> {
  trace.setGlobalTracerProvider(new BasicTracerProvider());
  let counter: MicroswarmCounter;
  try {
    counter = await startMicroswarmCounter({ threadSetup: setupUrl });
  } catch (error) {
    trace.disable();
    throw error;
  }
  return {
    description: 'OpenTelemetry SDK registered in every thread, no span processor',
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
