package org.catonnx.cli;

import org.catonnx.exporter.io.AtomicFiles;
import org.catonnx.runtime.bench.GenerationBenchmark;
import org.jfree.chart.ChartUtils;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;

/** The paper's trade-off picture: throughput and cache memory of CAT against chunk size, dense as reference lines. */
final class BenchChart {
    private BenchChart() {}

    static void write(List<GenerationBenchmark.Row> rows, Path png) throws IOException {
        XYSeriesCollection speed = new XYSeriesCollection(), memory = new XYSeriesCollection();
        for (GenerationBenchmark.Row r : rows) {
            if (r.model.equals("dense")) continue;
            String key = "CAT batch " + r.batch + " (" + r.mode + ")";
            series(speed, key).add(r.chunk, r.tokensPerSecond());
            series(memory, "CAT batch " + r.batch).addOrUpdate(r.chunk, r.cacheBytes / 1048576.0);
        }
        for (GenerationBenchmark.Row r : rows) {
            if (!r.model.equals("dense")) continue;
            XYSeries s = series(speed, "dense batch " + r.batch + " (" + r.mode + ")");
            XYSeries m = series(memory, "dense batch " + r.batch);
            for (GenerationBenchmark.Row c : rows) {
                if (c.chunk > 0) {
                    s.addOrUpdate(c.chunk, r.tokensPerSecond());
                    m.addOrUpdate(c.chunk, r.cacheBytes / 1048576.0);
                }
            }
        }
        LogAxis chunkAxis = new LogAxis("chunk size");
        chunkAxis.setBase(2);
        chunkAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(chunkAxis);
        plot.add(new XYPlot(speed, null, new NumberAxis("tokens / s"), new XYLineAndShapeRenderer()), 3);
        NumberAxis memAxis = new NumberAxis("cache MiB at full context");
        plot.add(new XYPlot(memory, null, memAxis, new XYLineAndShapeRenderer()), 2);
        JFreeChart chart = new JFreeChart("CAT vs dense: generation throughput and cache memory", JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        AtomicFiles.write(png, tmp -> ChartUtils.saveChartAsPNG(tmp.toFile(), chart, 1000, 800));
    }

    private static XYSeries series(XYSeriesCollection c, String key) {
        int i = c.getSeriesIndex(key);
        if (i >= 0) return c.getSeries(i);
        XYSeries s = new XYSeries(key);
        c.addSeries(s);
        return s;
    }
}
