import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { CheckFraud } from './order-fulfillment.events';

/** Orders of this amount (in the smallest currency unit) or more fail the stand-in check. */
export const FRAUD_CHECK_LIMIT_CENTS = 100_000;

/** A fraud check as the fraud service answered it. */
export interface FraudVerdict {
  readonly checkId: string;
  readonly passed: boolean;
  /** Why it failed; empty when it passed. */
  readonly reason: string;
}

/**
 * A stand-in for a fraud-scoring service, in memory: it passes every order below
 * {@link FRAUD_CHECK_LIMIT_CENTS} and fails the others, once per idempotency key (the command
 * id), answering a repeated request with the first verdict, as a real service keyed by an
 * `Idempotency-Key` would.
 */
@Injectable()
export class StandInFraudChecker {
  private readonly verdicts = new Map<string, FraudVerdict>();

  /** Checks the order once for `idempotencyKey`; the same verdict for a repeated key. */
  async check(idempotencyKey: string, order: Omit<CheckFraud, 'type'>): Promise<FraudVerdict> {
    const known = this.verdicts.get(idempotencyKey);
    if (known) return known;
    const checkId = `fraud-${createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 12)}`;
    const passed = order.amountCents < FRAUD_CHECK_LIMIT_CENTS;
    const verdict: FraudVerdict = {
      checkId,
      passed,
      reason: passed
        ? ''
        : `amount ${order.amountCents} is at or above the limit of ${FRAUD_CHECK_LIMIT_CENTS}`,
    };
    this.verdicts.set(idempotencyKey, verdict);
    return verdict;
  }

  /** How many orders were checked (each idempotency key once). */
  checked(): number {
    return this.verdicts.size;
  }
}
