// Given / when / then for deciders, for the unit specs only (never imported by production code).
import { expect } from 'vitest';
import { InvariantViolation } from '../../core/src/domain/shared.js';
import type { InvariantRule } from '../../core/src/domain/shared.js';

type Decision<E, R> = { kind: 'accepted'; events: E[] } | { kind: 'refused'; refusal: R };

export type Decider<C, E, S, R> = {
  decide: (command: C, state: S) => Decision<E, R>;
  evolve: (state: S, event: E) => S;
  initialState: () => S;
};

export type Then<E, R> = {
  /** Accepted with exactly these events. */
  thenEvents: (expected: E[]) => E[];
  /** Accepted with nothing to append. */
  thenNothingToDo: () => void;
  thenRefused: (expected: R) => void;
  thenThrows: (rule: InvariantRule) => void;
};

export const deciderSpec = <C, E, S, R>(decider: Decider<C, E, S, R>) => ({
  given: (events: E[]) => {
    const state = events.reduce((s: S, e: E) => decider.evolve(s, e), decider.initialState());
    return {
      state,
      when: (command: C): Then<E, R> => {
        const decide = () => decider.decide(command, state);
        return {
          thenEvents: (expected) => {
            const decision = decide();
            expect(decision).toEqual({ kind: 'accepted', events: expected });
            return expected;
          },
          thenNothingToDo: () => expect(decide()).toEqual({ kind: 'accepted', events: [] }),
          thenRefused: (expected) => expect(decide()).toEqual({ kind: 'refused', refusal: expected }),
          thenThrows: (rule) => expectInvariant(decide, rule),
        };
      },
    };
  },
});

export const expectInvariant = (act: () => unknown, rule: InvariantRule): void => {
  let thrown: unknown;
  try {
    act();
  } catch (error) {
    thrown = error;
  }
  expect(thrown).toBeInstanceOf(InvariantViolation);
  expect((thrown as InvariantViolation).rule).toBe(rule);
};
