// Command otelcol-bench is a minimal OpenTelemetry Collector distribution used
// as the reference point of Weft's benchmark harness. It is built from source
// with bench/build-otelcol.sh at the versions pinned in go.mod; no binary is
// ever committed.
//
// Components (and nothing else):
//
//	receivers:  otlp, zipkin, prometheus
//	processors: batch, memory_limiter, filter, transform
//	exporters:  otlp (type otlp_grpc since v0.161.0; "otlp" is its deprecated
//	            alias and still accepted), debug, prometheusremotewrite
//	            (contrib has had no zipkin exporter since v0.148.0)
//	extensions: file_storage (the exporters' persistent queue)
//
// Config sources: file: (the --config FILE default), env: and yaml:.
package main

import (
	"os"
	"runtime/debug"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/confmap/provider/yamlprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/debugexporter"
	"go.opentelemetry.io/collector/exporter/otlpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/processor/memorylimiterprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/otlpreceiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/open-telemetry/opentelemetry-collector-contrib/exporter/prometheusremotewriteexporter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/filterprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/prometheusreceiver"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/zipkinreceiver"
)

// version is what `otelcol-bench --version` prints: the contrib release the
// distribution is pinned to, tagged as this harness's build.
const version = "0.161.0-weft-bench"

func components() (otelcol.Factories, error) {
	var (
		f   otelcol.Factories
		err error
	)
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](
		otlpreceiver.NewFactory(),
		zipkinreceiver.NewFactory(),
		prometheusreceiver.NewFactory(),
	); err != nil {
		return f, err
	}
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](
		batchprocessor.NewFactory(),
		memorylimiterprocessor.NewFactory(),
		filterprocessor.NewFactory(),
		transformprocessor.NewFactory(),
	); err != nil {
		return f, err
	}
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](
		otlpexporter.NewFactory(),
		debugexporter.NewFactory(),
		prometheusremotewriteexporter.NewFactory(),
	); err != nil {
		return f, err
	}
	if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](
		filestorage.NewFactory(),
	); err != nil {
		return f, err
	}
	f.Telemetry = otelconftelemetry.NewFactory()

	// Shown by `otelcol-bench components`, with the versions actually linked.
	const core, contrib = "go.opentelemetry.io/collector/", "github.com/open-telemetry/opentelemetry-collector-contrib/"
	f.ReceiverModules = map[component.Type]string{
		otlpreceiver.NewFactory().Type():       module(core + "receiver/otlpreceiver"),
		zipkinreceiver.NewFactory().Type():     module(contrib + "receiver/zipkinreceiver"),
		prometheusreceiver.NewFactory().Type(): module(contrib + "receiver/prometheusreceiver"),
	}
	f.ProcessorModules = map[component.Type]string{
		batchprocessor.NewFactory().Type():         module(core + "processor/batchprocessor"),
		memorylimiterprocessor.NewFactory().Type(): module(core + "processor/memorylimiterprocessor"),
		filterprocessor.NewFactory().Type():        module(contrib + "processor/filterprocessor"),
		transformprocessor.NewFactory().Type():     module(contrib + "processor/transformprocessor"),
	}
	f.ExporterModules = map[component.Type]string{
		otlpexporter.NewFactory().Type():  module(core + "exporter/otlpexporter"),
		debugexporter.NewFactory().Type(): module(core + "exporter/debugexporter"),
		prometheusremotewriteexporter.NewFactory().Type(): module(
			contrib + "exporter/prometheusremotewriteexporter"),
	}
	f.ExtensionModules = map[component.Type]string{
		filestorage.NewFactory().Type(): module(contrib + "extension/storage/filestorage"),
	}
	return f, nil
}

// module returns "path version" for a dependency linked into this binary.
func module(path string) string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == path {
				return d.Path + " " + d.Version
			}
		}
	}
	return path
}

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol-bench",
			Description: "Minimal OpenTelemetry Collector (contrib v0.161.0) for Weft benchmarks",
			Version:     version,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				DefaultScheme: "env",
				ProviderFactories: []confmap.ProviderFactory{
					envprovider.NewFactory(),
					fileprovider.NewFactory(),
					yamlprovider.NewFactory(),
				},
			},
		},
	}
	// cobra already prints the error on stderr.
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		os.Exit(1)
	}
}
