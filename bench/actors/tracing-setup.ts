/**
 * The `threadSetup` of the microswarm-tracing impls: an OpenTelemetry SDK in
 * the pool thread with no span processor. With MICROSWARM_BENCH_TRACE=off
 * (microswarm-tracing) its sampler records nothing: the SDK decides per
 * span and every span is a non-recording one, the cost of tracing wired in
 * with sampling off. Otherwise (microswarm-tracing-recorded) every span is
 * made and recorded, then dropped: what tracing costs before an exporter.
 */
import { trace } from '@opentelemetry/api';
import { AlwaysOffSampler, BasicTracerProvider } from '@opentelemetry/sdk-trace-base';

trace.setGlobalTracerProvider(new BasicTracerProvider(process.env.MICROSWARM_BENCH_TRACE === 'off' ? { sampler: new AlwaysOffSampler() } : {}));
