/**
 * The `threadSetup` of the microswarm-tracing impl: an OpenTelemetry SDK in
 * the pool thread, with no span processor (spans are made and recorded,
 * then dropped): what tracing costs before any exporter does.
 */
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

trace.setGlobalTracerProvider(new BasicTracerProvider());
