// Layering is enforced here, not by convention: domain folders never reach Electron,
// and only the IPC wrapper touches ipcMain.
import tseslint from 'typescript-eslint';

const noElectron = {
  paths: [
    {
      name: 'electron',
      message: 'Domain code must not import electron; wire it in main/electron/.',
    },
  ],
};

export default tseslint.config(
  {
    ignores: ['node_modules/**', 'out/**', 'test-output/**', 'bench/results/**', '.keyline-tmp/**'],
  },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  {
    files: ['certs/**', 'sim/**', 'server/**', 'ledger/**', 'main/**', 'contract/**', 'bench/**'],
    ignores: ['main/electron/**'],
    rules: { 'no-restricted-imports': ['error', noElectron] },
  },
  {
    files: ['main/electron/**'],
    ignores: ['main/electron/ipc.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        {
          selector: "ImportSpecifier[imported.name='ipcMain']",
          message: 'Only main/electron/ipc.ts registers IPC handlers.',
        },
      ],
    },
  },
  {
    files: ['server/**'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/main/**'],
              message: 'server/ runs where no station does: never import main/.',
            },
          ],
        },
      ],
    },
  },
);
