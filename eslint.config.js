import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['gen/**', 'node_modules/**', '.tmp/**', 'loadtest/results/**', '.dependency-cruiser.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The domain is pure: no I/O, no frameworks, no clock, no randomness.
    files: ['core/src/domain/**/*.ts'],
    ignores: ['**/*.spec.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['node:*', 'fs', 'path', 'crypto', 'os', 'http', 'http2', 'net'],
              message: 'The domain is pure: no Node built-ins.',
            },
            {
              group: [
                'pg',
                'pg-*',
                'ioredis',
                '@nats-io/*',
                'nats',
                '@connectrpc/*',
                '@bufbuild/*',
                '@grpc/*',
                'pino',
                'zod',
              ],
              message: 'The domain is pure: no I/O, framework or protobuf imports.',
            },
            {
              group: ['**/gen/**', '**/store/**', '**/api/**', '**/app/**'],
              message: 'The domain must not depend on outer layers.',
            },
          ],
        },
      ],
      'no-restricted-syntax': [
        'error',
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'Time is an input (command.now), never new Date().',
        },
        {
          selector: "CallExpression[callee.object.name='Date'][callee.property.name='now']",
          message: 'Time is an input (command.now), never Date.now().',
        },
        {
          selector: "CallExpression[callee.object.name='Math'][callee.property.name='random']",
          message: 'Randomness is an input, never Math.random().',
        },
        { selector: "MemberExpression[object.name='process']", message: 'The domain does not read the environment.' },
      ],
    },
  },
);
