// Package telemetry owns Cairn's OpenTelemetry MeterProvider and its
// exporters: Prometheus text for the HTTP listener's GET /metrics, and OTLP
// over HTTP when an endpoint is configured. The rest of the node does not
// import OpenTelemetry: it hands this package a Source of the counters it
// keeps anyway (the ones INFO reports), and Meter gives any package that
// wants instruments of its own a metric.Meter of the same provider.
//
// Nothing here runs on a command's path: counters and gauges are
// observable instruments read when a reader collects (a scrape, an OTLP
// export), and the latency histograms are produced from the lock-free
// log2-bucket histograms the session and shard layers keep (see
// Histogram), so enabling metrics costs the hot path nothing.
//
// Names follow the OpenTelemetry Collector's Redis receiver (redis.*)
// where it has one, so existing Redis dashboards and alerts apply, with
// OpenTelemetry semantic-convention attributes (db.operation.name);
// Raft figures have cairn.raft.* names. See DESIGN.md for the full list.
package telemetry

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	"go.opentelemetry.io/otel/metric"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/resource"
)

// ScopeName is the instrumentation scope of Cairn's own instruments.
const ScopeName = "github.com/cairndb/cairn"

// DefaultOTLPInterval is how often metrics are pushed to the OTLP
// endpoint when Config.OTLPInterval is zero.
const DefaultOTLPInterval = 10 * time.Second

// Config configures the provider. Defaults are noted per field.
type Config struct {
	// Source supplies the node's figures. Required.
	Source Source
	// OTLPEndpoint, if set, is where metrics are pushed over OTLP/HTTP:
	// a URL (http://collector:4318, https://...; a path other than /
	// replaces /v1/metrics) or host:port (plain HTTP). Default none.
	OTLPEndpoint string
	// OTLPInterval is the OTLP push interval. Default 10s
	// (DefaultOTLPInterval).
	OTLPInterval time.Duration
	// Instance names this node in the resource (service.instance.id),
	// e.g. its client address. Default none.
	Instance string
	// Version is the service.version resource attribute. Default none.
	Version string
	// Logger receives export errors. Default slog.Default().
	Logger *slog.Logger
}

// Telemetry is a running MeterProvider with its exporters.
type Telemetry struct {
	provider *sdkmetric.MeterProvider
	manual   *sdkmetric.ManualReader
	handler  http.Handler
	reg      metric.Registration
}

// New starts the provider: a Prometheus reader always, an OTLP reader
// when cfg.OTLPEndpoint is set, and Cairn's instruments over cfg.Source.
func New(cfg Config) (*Telemetry, error) {
	if cfg.Source == nil {
		return nil, errors.New("telemetry: Config needs a Source")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.OTLPInterval <= 0 {
		cfg.OTLPInterval = DefaultOTLPInterval
	}
	// Export errors (an unreachable collector) go to the node's log. The
	// handler is process-wide; a process runs one node outside tests.
	log := cfg.Logger
	otel.SetErrorHandler(otel.ErrorHandlerFunc(func(err error) { log.Warn("metrics export failed", "err", err) }))
	attrs := []attribute.KeyValue{attribute.String("service.name", "cairn")}
	if cfg.Instance != "" {
		attrs = append(attrs, attribute.String("service.instance.id", cfg.Instance))
	}
	if cfg.Version != "" {
		attrs = append(attrs, attribute.String("service.version", cfg.Version))
	}
	res := resource.NewSchemaless(attrs...)

	// The histograms come from the node's own buckets through a producer
	// that both readers collect.
	hist := &histograms{src: cfg.Source, start: time.Now()}

	// A registry of our own, not Prometheus's global one: two nodes in one
	// process (tests) each serve only their own figures.
	registry := prometheus.NewRegistry()
	promReader, err := otelprom.New(otelprom.WithRegisterer(registry), otelprom.WithProducer(hist), otelprom.WithoutScopeInfo())
	if err != nil {
		return nil, fmt.Errorf("telemetry: prometheus exporter: %w", err)
	}
	// A manual reader serves in-process readers (Collect: the dashboard);
	// it costs nothing until called.
	manual := sdkmetric.NewManualReader(sdkmetric.WithProducer(hist))
	opts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(promReader), sdkmetric.WithReader(manual)}
	if cfg.OTLPEndpoint != "" {
		exp, err := otlpmetrichttp.New(context.Background(), otlpOptions(cfg.OTLPEndpoint)...)
		if err != nil {
			return nil, fmt.Errorf("telemetry: otlp exporter for %q: %w", cfg.OTLPEndpoint, err)
		}
		opts = append(opts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp,
			sdkmetric.WithInterval(cfg.OTLPInterval), sdkmetric.WithProducer(hist))))
	}
	t := &Telemetry{provider: sdkmetric.NewMeterProvider(opts...), manual: manual}
	if t.reg, err = register(t.provider.Meter(ScopeName), cfg.Source); err != nil {
		t.provider.Shutdown(context.Background())
		return nil, fmt.Errorf("telemetry: instruments: %w", err)
	}
	t.handler = promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		ErrorLog:      slogPrinter{cfg.Logger},
		ErrorHandling: promhttp.ContinueOnError,
	})
	return t, nil
}

// otlpOptions reads an endpoint given as a URL or as host:port.
func otlpOptions(endpoint string) []otlpmetrichttp.Option {
	if strings.Contains(endpoint, "://") {
		return []otlpmetrichttp.Option{otlpmetrichttp.WithEndpointURL(endpoint)}
	}
	return []otlpmetrichttp.Option{otlpmetrichttp.WithEndpoint(endpoint), otlpmetrichttp.WithInsecure()}
}

// Meter returns a Meter of the node's provider, for packages that keep
// instruments of their own.
func (t *Telemetry) Meter(name string, opts ...metric.MeterOption) metric.Meter {
	return t.provider.Meter(name, opts...)
}

// Collect reads every instrument now, for in-process consumers (the
// dashboard shows the same numbers as /metrics).
func (t *Telemetry) Collect(ctx context.Context) (metricdata.ResourceMetrics, error) {
	var rm metricdata.ResourceMetrics
	err := t.manual.Collect(ctx, &rm)
	return rm, err
}

// Handler serves the metrics in the Prometheus text format (GET /metrics).
func (t *Telemetry) Handler() http.Handler { return t.handler }

// Shutdown stops the readers; a configured OTLP exporter pushes once more.
func (t *Telemetry) Shutdown(ctx context.Context) error {
	t.reg.Unregister()
	return t.provider.Shutdown(ctx)
}

// slogPrinter lets promhttp report errors to the node's logger.
type slogPrinter struct{ log *slog.Logger }

func (p slogPrinter) Println(v ...any) { p.log.Warn("metrics: " + fmt.Sprint(v...)) }
