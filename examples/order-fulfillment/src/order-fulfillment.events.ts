/** Payloads of orderFulfillment's events; the package's schemas/ holds their Avro schemas. */
export interface OrderItem {
  readonly sku: string;
  readonly quantity: number;
}

export interface OrderPlaced {
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly currency: string;
  readonly items: readonly OrderItem[];
  /** How long the customer has to pay, in seconds (default {@link DEFAULT_PAYMENT_WINDOW_SECONDS}). */
  readonly paymentWindowSeconds?: number | null;
}

/** The payment window when an order names none: 30 minutes. */
export const DEFAULT_PAYMENT_WINDOW_SECONDS = 1800;

export type OrderFulfillmentEvent =
  | { readonly type: 'PaymentReceived'; readonly paymentId: string; readonly amountCents: number }
  | { readonly type: 'PaymentFailed'; readonly reason: string }
  | { readonly type: 'OrderCancelled'; readonly reason: string }
  | { readonly type: 'GoodsFetched'; readonly warehouseId: string }
  | { readonly type: 'GoodsUnavailable'; readonly sku: string }
  | { readonly type: 'PaymentRefunded'; readonly refundId: string }
  | { readonly type: 'ShipmentDispatched'; readonly trackingId: string };

/** Commands the workflow emits; esflow records each as a CommandDispatched fact. */
export interface RefundPayment {
  readonly type: 'RefundPayment';
  readonly orderId: string;
  readonly paymentId: string;
  readonly amountCents: number;
  readonly currency: string;
}

/** The replies of orderFulfillment v2's fraud check (CheckFraud): events of the workflow. */
export type FraudCheckReply =
  | { readonly type: 'FraudCheckPassed'; readonly checkId: string }
  | { readonly type: 'FraudCheckFailed'; readonly checkId: string; readonly reason: string };

/** orderFulfillment v2's events: v1's, and the fraud check's replies. */
export type OrderFulfillmentV2Event = OrderFulfillmentEvent | FraudCheckReply;

/** orderFulfillment v2's command: check the paid order for fraud before its goods are fetched. */
export interface CheckFraud {
  readonly type: 'CheckFraud';
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: number;
  readonly currency: string;
}
