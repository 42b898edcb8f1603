import { describe, expect, it } from 'vitest';
import { ADAPTERS, parseNotification, reservationIdFor } from './index.js';
import { amazonOrder, jumiaOrder } from '../../../test/support/webhooks.js';

const parse = (marketplace: string, body: unknown) => {
  const adapter = ADAPTERS.get(marketplace);
  if (adapter === undefined) throw new Error(`no adapter ${marketplace}`);
  return parseNotification(adapter, body);
};

describe('amazon adapter', () => {
  it('maps Pending to a reservation, merging items of the same SKU', () => {
    const body = amazonOrder({
      notificationId: 'n-1',
      orderId: '113-1',
      status: 'Pending',
      node: 'W3',
      items: [
        { sku: 'A', qty: 1 },
        { sku: 'B', qty: 2 },
        { sku: 'A', qty: 3 },
      ],
    });
    expect(parse('amazon', body)).toEqual({
      ok: true,
      notification: {
        eventId: 'n-1',
        action: {
          kind: 'reserve',
          orderId: '113-1',
          lines: [
            { sku: 'A', locationId: 'W3', quantity: 4 },
            { sku: 'B', locationId: 'W3', quantity: 2 },
          ],
        },
      },
    });
  });

  it('maps Unshipped to confirm, Canceled to release and Shipped to nothing', () => {
    expect(
      parse('amazon', amazonOrder({ notificationId: 'n-2', orderId: '113-1', status: 'Unshipped' })),
    ).toMatchObject({ ok: true, notification: { action: { kind: 'confirm', orderId: '113-1' } } });
    expect(parse('amazon', amazonOrder({ notificationId: 'n-3', orderId: '113-1', status: 'Canceled' }))).toMatchObject(
      { ok: true, notification: { action: { kind: 'release', orderId: '113-1' } } },
    );
    expect(parse('amazon', amazonOrder({ notificationId: 'n-4', orderId: '113-1', status: 'Shipped' }))).toMatchObject({
      ok: true,
      notification: { action: { kind: 'ignore' } },
    });
  });

  it('refuses a Pending order without a fulfilment node or items, naming the field', () => {
    const r = parse('amazon', amazonOrder({ notificationId: 'n-5', orderId: '113-2', status: 'Pending' }));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.issues.map((i) => i.path)).toEqual(['payload.order.fulfillmentNodeId', 'payload.order.items']);
  });

  it('refuses unknown statuses and wrong types', () => {
    expect(
      parse('amazon', {
        ...amazonOrder({ notificationId: 'n-6', orderId: '1', status: 'Shipped' }),
        notificationType: 'FEED_PROCESSED',
      }).ok,
    ).toBe(false);
    const zero = amazonOrder({
      notificationId: 'n-7',
      orderId: '1',
      status: 'Pending',
      node: 'W3',
      items: [{ sku: 'A', qty: 0 }],
    });
    expect(parse('amazon', zero).ok).toBe(false);
  });
});

describe('jumia adapter', () => {
  it('maps order.created to a reservation', () => {
    expect(
      parse(
        'jumia',
        jumiaOrder({
          eventId: 'e-1',
          orderNumber: 'JM-1',
          event: 'order.created',
          warehouse: 'W3',
          items: [{ sku: 'A', qty: 2 }],
        }),
      ),
    ).toEqual({
      ok: true,
      notification: {
        eventId: 'e-1',
        action: { kind: 'reserve', orderId: 'JM-1', lines: [{ sku: 'A', locationId: 'W3', quantity: 2 }] },
      },
    });
  });

  it('maps order.paid to confirm and order.cancelled to release with the reason', () => {
    expect(parse('jumia', jumiaOrder({ eventId: 'e-2', orderNumber: 'JM-1', event: 'order.paid' }))).toMatchObject({
      ok: true,
      notification: { action: { kind: 'confirm', orderId: 'JM-1' } },
    });
    expect(
      parse(
        'jumia',
        jumiaOrder({ eventId: 'e-3', orderNumber: 'JM-1', event: 'order.cancelled', reason: 'out of delivery area' }),
      ),
    ).toMatchObject({
      ok: true,
      notification: { action: { kind: 'release', orderId: 'JM-1', reason: 'jumia: out of delivery area' } },
    });
  });

  it('refuses an amazon-shaped body', () => {
    expect(
      parse(
        'jumia',
        amazonOrder({
          notificationId: 'n-1',
          orderId: '1',
          status: 'Pending',
          node: 'W3',
          items: [{ sku: 'A', qty: 1 }],
        }),
      ).ok,
    ).toBe(false);
  });
});

describe('the text rule', () => {
  it('refuses a NUL in a reason, naming the field and the event it belongs to', () => {
    const r = parse(
      'jumia',
      jumiaOrder({ eventId: 'e-9', orderNumber: 'JM-9', event: 'order.cancelled', reason: 'late\u0000' }),
    );
    expect(r).toEqual({
      ok: false,
      issues: [{ path: 'order.cancel_reason', message: 'must not contain NUL (U+0000, at position 4)' }],
      badTextEventId: 'e-9',
    });
  });

  it('treats a body with other problems as invalid, not as bad text', () => {
    const r = parse('amazon', {
      ...amazonOrder({ notificationId: 'n-9', orderId: '1', status: 'Pending', node: 'W\u0000', items: [] }),
    });
    expect(r.ok).toBe(false);
    expect('badTextEventId' in r).toBe(false);
  });
});

describe('reservation ids', () => {
  it('derive from marketplace and order only, so every notification of an order acts on one reservation', () => {
    expect(reservationIdFor('amazon', '113-1')).toBe('amazon:113-1');
    expect(reservationIdFor('amazon', '113-1')).not.toBe(reservationIdFor('jumia', '113-1'));
  });
});
