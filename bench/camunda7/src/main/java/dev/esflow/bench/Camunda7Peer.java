package dev.esflow.bench;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import org.camunda.bpm.engine.ProcessEngine;
import org.camunda.bpm.engine.ProcessEngineConfiguration;
import org.camunda.bpm.engine.RuntimeService;
import org.camunda.bpm.engine.impl.cfg.StandaloneProcessEngineConfiguration;
import org.camunda.bpm.engine.impl.persistence.StrongUuidGenerator;
import org.camunda.bpm.model.bpmn.Bpmn;
import org.camunda.bpm.model.bpmn.BpmnModelInstance;

/**
 * The Camunda 7 peer of esflow's benchmark: an embedded Camunda 7 engine on a fresh PostgreSQL
 * database (which the caller creates and drops) runs the order workflow esflow's REST scenario
 * runs. Each order is one process instance started by business key, then three message
 * correlations: 4 transitions, each timed. N threads loop orders for a warm-up (not counted),
 * then for the measured seconds; one JSON line of results goes to stdout, anything else to
 * stderr.
 *
 * <p>Usage: {@code java -jar camunda7-peer.jar <threads> <seconds> <warmupSeconds> <jdbcUrl>
 * <user>}, with the password, if any, in the environment variable CAMUNDA7_PEER_JDBC_PASSWORD.
 */
public final class Camunda7Peer {
  private static final String PROCESS_KEY = "orderFulfillment";
  private static final String[][] STEPS = {
    {"PaymentReceived", "paymentId", "pay"},
    {"GoodsFetched", "warehouseId", "wh-1"},
    {"ShipmentDispatched", "trackingId", "trk-1"},
  };
  /** Stack traces printed to stderr at most; later errors are only counted. */
  private static final int MAX_REPORTED_ERRORS = 5;

  private Camunda7Peer() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println(
          "usage: java -jar camunda7-peer.jar"
              + " <threads> <seconds> <warmupSeconds> <jdbcUrl> <user>");
      System.exit(2);
    }
    int threads = Integer.parseInt(args[0]);
    double seconds = Double.parseDouble(args[1]);
    double warmupSeconds = Double.parseDouble(args[2]);
    String jdbcUrl = args[3];
    String user = args[4];
    String password =
        Objects.requireNonNullElse(System.getenv("CAMUNDA7_PEER_JDBC_PASSWORD"), "");
    if (threads < 1 || !(seconds > 0) || !(warmupSeconds >= 0)) {
      System.err.println("threads must be at least 1, seconds positive, warm-up not negative");
      System.exit(2);
    }

    try {
      benchmark(threads, seconds, warmupSeconds, jdbcUrl, user, password);
    } catch (Throwable failure) {
      failure.printStackTrace(System.err);
      Throwable root = failure;
      while (root.getCause() != null && root.getCause() != root) root = root.getCause();
      // Last, for the caller, which shows the end of stderr.
      System.err.println("camunda7-peer: failed: " + root);
      System.exit(1);
    }
    // Nothing else should keep the JVM alive, but the caller waits for the exit.
    System.exit(0);
  }

  private static void benchmark(
      int threads,
      double seconds,
      double warmupSeconds,
      String jdbcUrl,
      String user,
      String password)
      throws InterruptedException {
    long bootStarted = System.nanoTime();
    ProcessEngine engine = buildEngine(jdbcUrl, user, password, threads);
    try {
      engine
          .getRepositoryService()
          .createDeployment()
          .name("esflow-bench")
          .addModelInstance("orderFulfillment.bpmn", orderWorkflow())
          .deploy();
      System.err.printf(
          Locale.ROOT,
          "camunda7-peer: engine up and workflow deployed in %.1f s%n",
          (System.nanoTime() - bootStarted) / 1e9);
      String json = run(engine.getRuntimeService(), threads, seconds, warmupSeconds);
      System.out.println(json);
      System.out.flush();
    } finally {
      engine.close();
    }
  }

  private static ProcessEngine buildEngine(
      String jdbcUrl, String user, String password, int threads) {
    StandaloneProcessEngineConfiguration config = new StandaloneProcessEngineConfiguration();
    config.setProcessEngineName("esflow-bench-camunda7");
    config.setJdbcUrl(jdbcUrl);
    config.setJdbcDriver("org.postgresql.Driver");
    config.setJdbcUsername(user);
    config.setJdbcPassword(password);
    // One connection per worker thread and a few spare; as many kept idle, so that the pool
    // never closes and reopens connections between transactions.
    config.setJdbcMaxActiveConnections(threads + 4);
    config.setJdbcMaxIdleConnections(threads + 4);
    config.setDatabaseSchemaUpdate(ProcessEngineConfiguration.DB_SCHEMA_UPDATE_TRUE);
    config.setHistory(ProcessEngineConfiguration.HISTORY_FULL);
    // Nothing in the workflow is asynchronous: every operation completes in its own transaction.
    config.setJobExecutorActivate(false);
    // UUID ids, as the Spring Boot starter configures by default and Camunda recommends under
    // load: the default DbIdGenerator serialises every thread on one id-block row.
    config.setIdGenerator(new StrongUuidGenerator());
    return config.buildProcessEngine();
  }

  /** start → PaymentReceived → GoodsFetched → ShipmentDispatched → end, as esflow's example. */
  static BpmnModelInstance orderWorkflow() {
    return Bpmn.createExecutableProcess(PROCESS_KEY)
        .name("Order fulfillment")
        // Camunda 7.20+ refuses to deploy a process without a history time to live.
        .camundaHistoryTimeToLive(1)
        .startEvent("placed")
        .intermediateCatchEvent("paymentReceived")
        .message(STEPS[0][0])
        .intermediateCatchEvent("goodsFetched")
        .message(STEPS[1][0])
        .intermediateCatchEvent("shipmentDispatched")
        .message(STEPS[2][0])
        .endEvent("shipped")
        .done();
  }

  /** Per-thread samples, merged after the threads end. */
  private static final class Worker implements Runnable {
    private final RuntimeService runtime;
    private final long measureStart;
    private final long deadline;
    private final AtomicInteger reportedErrors;
    long[] latenciesNanos = new long[4096];
    int samples;
    long transitions;
    long errors;

    Worker(RuntimeService runtime, long measureStart, long deadline, AtomicInteger reportedErrors) {
      this.runtime = runtime;
      this.measureStart = measureStart;
      this.deadline = deadline;
      this.reportedErrors = reportedErrors;
    }

    @Override
    public void run() {
      while (System.nanoTime() < deadline) {
        String orderId = "bench-" + UUID.randomUUID();
        Map<String, Object> input = new HashMap<>();
        input.put("orderId", orderId);
        input.put("customerId", "c");
        input.put("amountCents", 4999);
        input.put("currency", "EUR");
        if (!timed(() -> runtime.startProcessInstanceByKey(PROCESS_KEY, orderId, input))) continue;
        for (String[] step : STEPS) {
          boolean ok =
              timed(
                  () ->
                      runtime
                          .createMessageCorrelation(step[0])
                          .processInstanceBusinessKey(orderId)
                          .setVariable(step[1], step[2])
                          .correlate());
          // The order's later messages would find no subscription: start the next order.
          if (!ok) break;
        }
      }
    }

    /** Runs one transition; counts it, or its error, when it started after the warm-up. */
    private boolean timed(Runnable operation) {
      long t0 = System.nanoTime();
      boolean ok;
      try {
        operation.run();
        ok = true;
      } catch (RuntimeException e) {
        ok = false;
        if (reportedErrors.getAndIncrement() < MAX_REPORTED_ERRORS) {
          System.err.println("camunda7-peer: transition failed");
          e.printStackTrace(System.err);
        }
      }
      long elapsed = System.nanoTime() - t0;
      if (t0 >= measureStart) {
        if (samples == latenciesNanos.length)
          latenciesNanos = Arrays.copyOf(latenciesNanos, samples * 2);
        latenciesNanos[samples++] = elapsed;
        if (ok) transitions++;
        else errors++;
      }
      return ok;
    }
  }

  private static String run(
      RuntimeService runtime, int threads, double seconds, double warmupSeconds)
      throws InterruptedException {
    long measureStart = System.nanoTime() + (long) (warmupSeconds * 1e9);
    long deadline = measureStart + (long) (seconds * 1e9);
    AtomicInteger reportedErrors = new AtomicInteger();
    List<Worker> workers = new ArrayList<>();
    List<Thread> running = new ArrayList<>();
    for (int i = 0; i < threads; i++) {
      Worker worker = new Worker(runtime, measureStart, deadline, reportedErrors);
      Thread thread = new Thread(worker, "bench-" + i);
      workers.add(worker);
      running.add(thread);
      thread.start();
    }
    long untilMeasured = measureStart - System.nanoTime();
    if (untilMeasured > 0) {
      Thread.sleep(untilMeasured / 1_000_000, (int) (untilMeasured % 1_000_000));
    }
    long cpuAtStart = processCpuNanos();
    for (Thread thread : running) thread.join();
    // Like esflow's scenario: the window runs until the last order in flight has finished.
    double elapsedSeconds = (System.nanoTime() - measureStart) / 1e9;
    double cpuSeconds = (processCpuNanos() - cpuAtStart) / 1e9;

    int total = workers.stream().mapToInt(w -> w.samples).sum();
    long[] all = new long[total];
    int at = 0;
    long transitions = 0;
    long errors = 0;
    for (Worker worker : workers) {
      System.arraycopy(worker.latenciesNanos, 0, all, at, worker.samples);
      at += worker.samples;
      transitions += worker.transitions;
      errors += worker.errors;
    }
    Arrays.sort(all);
    System.err.printf(
        Locale.ROOT,
        "camunda7-peer: the measured window used %.1f CPU seconds (%.2f ms per transition)%n",
        cpuSeconds,
        transitions == 0 ? Double.NaN : cpuSeconds * 1000 / transitions);
    return String.format(
        Locale.ROOT,
        "{\"threads\":%d,\"seconds\":%.3f,\"warmupSeconds\":%.3f,\"transitions\":%d,"
            + "\"errors\":%d,\"transitionsPerSecond\":%.2f,\"p50Ms\":%s,\"p90Ms\":%s,"
            + "\"p99Ms\":%s,\"maxMs\":%s}",
        threads,
        elapsedSeconds,
        warmupSeconds,
        transitions,
        errors,
        transitions / elapsedSeconds,
        percentileMs(all, 50),
        percentileMs(all, 90),
        percentileMs(all, 99),
        all.length == 0 ? "null" : roundMs(all[all.length - 1]));
  }

  /** CPU time of the whole JVM (workers, JIT compilers, GC), or -1 where it is not known. */
  private static long processCpuNanos() {
    java.lang.management.OperatingSystemMXBean os = ManagementFactory.getOperatingSystemMXBean();
    return os instanceof com.sun.management.OperatingSystemMXBean sun
        ? sun.getProcessCpuTime()
        : -1;
  }

  /** Nearest-rank percentile of sorted samples, in ms to 2 decimals, as bench/stats.ts. */
  private static String percentileMs(long[] sorted, double p) {
    if (sorted.length == 0) return "null";
    int rank =
        (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(p / 100 * sorted.length) - 1));
    return roundMs(sorted[rank]);
  }

  private static String roundMs(long nanos) {
    return String.format(Locale.ROOT, "%.2f", Math.round(nanos / 1e4) / 100.0);
  }
}
