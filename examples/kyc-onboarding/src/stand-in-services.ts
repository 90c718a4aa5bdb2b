import { createHash } from 'node:crypto';
import { Injectable } from '@nestjs/common';
import { PermanentCommandFailure } from '@esflow/core';

/** A short id derived from an idempotency key: the same key, the same id. */
function idOf(prefix: string, key: string): string {
  return `${prefix}-${createHash('sha256').update(key).digest('hex').slice(0, 12)}`;
}

/** The stand-in account service refuses to open accounts for addresses of this domain. */
export const REFUSED_ACCOUNT_DOMAIN = 'no-account.example';
/** The stand-in mailer's mail to addresses of this domain bounces. */
export const BOUNCING_MAIL_DOMAIN = 'bounce.example';

const domainOf = (email: string) => email.slice(email.lastIndexOf('@') + 1).toLowerCase();

/**
 * A stand-in for the account service, in memory: opens an account once per idempotency key (the
 * command id) and closes it once; a real service deduplicates by the key on its side. It refuses,
 * for good, addresses at {@link REFUSED_ACCOUNT_DOMAIN}, so the example's failure path can be
 * tried by hand.
 */
@Injectable()
export class StandInAccountService {
  private readonly opened = new Map<string, { accountId: string; userId: string }>();
  private readonly closed = new Map<string, string>();

  /** Opens the user's account (once for `idempotencyKey`) and returns its id. */
  async open(idempotencyKey: string, userId: string, email: string): Promise<string> {
    if (domainOf(email) === REFUSED_ACCOUNT_DOMAIN)
      throw new PermanentCommandFailure(
        `the account service accepts no addresses at ${REFUSED_ACCOUNT_DOMAIN}`,
      );
    const known = this.opened.get(idempotencyKey);
    if (known) return known.accountId;
    const accountId = idOf('acc', idempotencyKey);
    this.opened.set(idempotencyKey, { accountId, userId });
    return accountId;
  }

  /** Closes the account (once for `idempotencyKey`; closing a closed account is a no-op). */
  async close(idempotencyKey: string, accountId: string): Promise<void> {
    if (!this.closed.has(idempotencyKey)) this.closed.set(idempotencyKey, accountId);
  }

  /** The ids of the accounts opened and not closed. */
  openAccounts(): string[] {
    const closed = new Set(this.closed.values());
    return [...this.opened.values()].map((a) => a.accountId).filter((id) => !closed.has(id));
  }
}

/**
 * A stand-in for the mail service, in memory: sends a message once per idempotency key (the
 * command id). Mail to {@link BOUNCING_MAIL_DOMAIN} bounces, for good.
 */
@Injectable()
export class StandInMailer {
  private readonly sent = new Map<string, { messageId: string; to: string }>();

  /** Sends the welcome email (once for `idempotencyKey`) and returns the message id. */
  async sendWelcome(idempotencyKey: string, to: string, accountId: string): Promise<string> {
    if (domainOf(to) === BOUNCING_MAIL_DOMAIN)
      throw new PermanentCommandFailure(`mailbox unavailable: ${to} (account ${accountId})`);
    const known = this.sent.get(idempotencyKey);
    if (known) return known.messageId;
    const messageId = idOf('msg', idempotencyKey);
    this.sent.set(idempotencyKey, { messageId, to });
    return messageId;
  }

  /** The addresses mailed, oldest first. */
  recipients(): string[] {
    return [...this.sent.values()].map((message) => message.to);
  }
}

/**
 * A stand-in for the user directory, in memory: removes a user's sign-up once per idempotency
 * key (the command id).
 */
@Injectable()
export class StandInUserDirectory {
  private readonly removed = new Map<string, { userId: string; reason: string }>();

  /** Removes the user's sign-up (once for `idempotencyKey`). */
  async rollBack(idempotencyKey: string, userId: string, reason: string): Promise<void> {
    if (!this.removed.has(idempotencyKey)) this.removed.set(idempotencyKey, { userId, reason });
  }

  /** The users rolled back, oldest first, with why. */
  rolledBack(): { userId: string; reason: string }[] {
    return [...this.removed.values()];
  }
}
