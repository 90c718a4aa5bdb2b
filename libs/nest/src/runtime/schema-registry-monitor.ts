import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { RegistryStatus, WriterSchemas } from '@esflow/schemas';
import { ESFLOW_RUNTIME } from '../tokens';
import { EsflowRuntime } from './esflow-runtime';

/** How often the registry is checked against the kept writer schemas while the process runs. */
export const REGISTRY_CHECK_INTERVAL_MS = 30_000;
/** A status younger than this is served as it is; an older one starts a new check. */
const FRESH_MS = 2_000;

/**
 * Keeps the schema registry in step with the writer schemas esflow keeps, while the application
 * runs: checks it every {@link REGISTRY_CHECK_INTERVAL_MS} and whenever a caller (`GET /health`)
 * asks for a status older than two seconds. A check puts ids a wiped registry lost back under
 * their own numbers where the registry allows, and reports ids it lacks or answers with other
 * schemas (`WriterSchemas.check`); once it answers every kept id, the check registers the current
 * schemas start-up could not (a process that started while the registry was unreachable, with
 * every schema kept). Each change of status is logged once. One check runs at a time.
 */
@Injectable()
export class SchemaRegistryMonitor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('SchemaRegistry');
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<RegistryStatus> | undefined;
  private checkedAt = Date.now();
  private reported: RegistryStatus | undefined;

  constructor(@Inject(ESFLOW_RUNTIME) private readonly runtime: EsflowRuntime) {}

  private get schemas(): WriterSchemas {
    return this.runtime.codec.writerSchemas;
  }

  onApplicationBootstrap(): void {
    if (this.schemas.startedWithoutRegistry)
      this.logger.warn(
        `started without the schema registry, which it cannot reach: writing under the schema ids esflow keeps and reading with their kept schemas; ${this.schemas.unregisteredSubjects.length} schemas are registered once it answers`,
      );
    this.report(this.schemas.status);
    this.timer = setInterval(() => void this.check(), REGISTRY_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    clearInterval(this.timer);
  }

  /**
   * The registry's status: the last check's if it is fresh, else that of a new check if it ends
   * within `waitMs`, else the last one (the new check goes on; a hanging registry is reported
   * once its calls time out).
   */
  async status(waitMs = 1_000): Promise<RegistryStatus> {
    if (!this.running && Date.now() - this.checkedAt <= FRESH_MS) return this.schemas.status;
    const check = this.check();
    let timer: NodeJS.Timeout | undefined;
    const waited = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      timer.unref();
    });
    await Promise.race([check, waited]);
    clearTimeout(timer);
    return this.schemas.status;
  }

  /** Checks the registry now; a call during a check gets that check's outcome. */
  check(): Promise<RegistryStatus> {
    this.running ??= this.schemas
      .check()
      .then((status) => {
        this.report(status);
        return status;
      })
      .finally(() => {
        this.checkedAt = Date.now();
        this.running = undefined;
      });
    return this.running;
  }

  private report(status: RegistryStatus): void {
    const previous = this.reported;
    this.reported = status;
    if (status.restoredIds.length > 0)
      this.logger.warn(
        `put ${status.restoredIds.length} schema ids back into the registry under their own numbers: ${status.restoredIds.join(', ')}`,
      );
    if (
      status.status === 'down' &&
      (previous?.status !== 'down' || previous.reason !== status.reason)
    )
      this.logger.error(status.reason ?? 'the schema registry is down');
    else if (status.status === 'up' && previous?.status === 'down')
      this.logger.log('the schema registry answers every kept schema id again');
  }
}
