import {
  Inject,
  Injectable,
  Logger,
  OnApplicationBootstrap,
  OnApplicationShutdown,
} from '@nestjs/common';
import { EVENT_STORE } from '@esflow/app-core';
import { EventStore, EventStoreSubscription, formatPosition, GlobalPosition } from '@esflow/domain';

export interface FollowerStatus {
  readonly status: 'catchingUp' | 'live' | 'stopped';
  readonly position: string | null;
  readonly eventsSeen: number;
  readonly lastEventAt: string | null;
  readonly error?: string;
}

/**
 * Follows the global log from the start: the skeleton the projection runtime will grow from
 * (read models, checkpoints and the Kafka bridge are later issues). It proves that a second
 * process sees every event the api commits to the shared store.
 */
@Injectable()
export class StoreFollower implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(StoreFollower.name);
  private subscription: EventStoreSubscription | undefined;
  private position: GlobalPosition | undefined;
  private eventsSeen = 0;
  private lastEventAt: Date | undefined;
  private state: FollowerStatus['status'] = 'catchingUp';
  private error: string | undefined;

  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  onApplicationBootstrap(): void {
    this.subscription = this.store.subscribeToAll();
    void this.follow(this.subscription);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.subscription?.close();
  }

  status(): FollowerStatus {
    return {
      status: this.state,
      position: this.position ? formatPosition(this.position) : null,
      eventsSeen: this.eventsSeen,
      lastEventAt: this.lastEventAt?.toISOString() ?? null,
      ...(this.error ? { error: this.error } : {}),
    };
  }

  private async follow(subscription: EventStoreSubscription): Promise<void> {
    try {
      const [head] = await this.store.readAll({ direction: 'backwards', maxCount: 1 });
      if (!head) this.state = 'live';
      for await (const event of subscription) {
        this.position = event.position;
        this.eventsSeen += 1;
        this.lastEventAt = event.recordedAt;
        if (head && event.position.commit >= head.position.commit && this.state === 'catchingUp') {
          this.state = 'live';
          this.logger.log(
            `caught up at ${formatPosition(event.position)} after ${this.eventsSeen} events`,
          );
        }
      }
      this.state = 'stopped';
    } catch (error) {
      this.state = 'stopped';
      this.error = (error as Error).message;
      this.logger.error(`following the store stopped: ${this.error}`);
    }
  }
}
