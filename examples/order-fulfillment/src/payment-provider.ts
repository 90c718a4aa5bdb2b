import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';

/** A refund as the payment provider made it. */
export interface Refund {
  readonly refundId: string;
  readonly paymentId: string;
  readonly amountCents: number;
  readonly currency: string;
}

/**
 * A stand-in for the payment provider, in memory: it refunds once per idempotency key (the
 * command id), however often it is asked, and answers a repeated request with the first refund.
 * A real provider deduplicates by the key on its side (an `Idempotency-Key` header, say), which
 * is what makes the handler's at-least-once attempts safe.
 */
@Injectable()
export class StandInPaymentProvider {
  private readonly refunds = new Map<string, Refund>();

  /** Refunds `paymentId` once for `idempotencyKey`; the same refund for a repeated key. */
  async refund(
    idempotencyKey: string,
    request: {
      readonly paymentId: string;
      readonly amountCents: number;
      readonly currency: string;
    },
  ): Promise<Refund> {
    const known = this.refunds.get(idempotencyKey);
    if (known) return known;
    const refundId = `refund-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12)}`;
    const refund: Refund = { refundId, ...request };
    this.refunds.set(idempotencyKey, refund);
    return refund;
  }

  /** The refunds made, oldest first. */
  made(): readonly Refund[] {
    return [...this.refunds.values()];
  }
}
