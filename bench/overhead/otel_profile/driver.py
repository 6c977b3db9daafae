"""The Python driver with `tiny` (in work.py) instrumented by the `otel` profile, an SDK with a
batch processor and a null exporter behind it: what the otel profile costs per call."""

import sys
import time

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanExportResult


class NullExporter(SpanExporter):
    def export(self, spans):
        return SpanExportResult.SUCCESS


provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(NullExporter()))
trace.set_tracer_provider(provider)

import work  # noqa: E402  (after the provider: the profile's tracer comes from it)


def run(n):
    t0 = time.perf_counter_ns()
    x = 0
    for _ in range(n):
        x = work.tiny(x)
    return time.perf_counter_ns() - t0, x


if __name__ == "__main__":
    n = int(sys.argv[1])
    ns, x = run(n)
    assert x == n
    provider.shutdown()
    print(ns / n)
