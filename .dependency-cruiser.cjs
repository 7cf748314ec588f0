/**
 * dependency-cruiser settings for the architecture picture (docs/architecture.svg, `npm run architecture`):
 * the imports between the folders of src/, one node per folder. The layout rules themselves are
 * checked by test/architecture.e2e.spec.ts.
 * @type {import('dependency-cruiser').IConfiguration}
 */
module.exports = {
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    includeOnly: '^src/',
    exclude: { path: ['^src/generated/', '\\.spec\\.ts$'] },
    doNotFollow: { path: 'node_modules' },
    reporterOptions: {
      dot: {
        collapsePattern: '^src/[^/]+/',
        theme: {
          graph: { rankdir: 'TB', splines: 'true', fontname: 'Helvetica', fontsize: '12', bgcolor: 'white' },
          node: { fontname: 'Helvetica', fontsize: '12', shape: 'box', style: 'rounded,filled', fillcolor: '#f4f4f4' },
          edge: { color: '#555555', arrowhead: 'normal' },
        },
      },
    },
  },
};
