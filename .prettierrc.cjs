// Formatting of XML and JS as OCA's 18.0 repositories have it (their
// oca-addons-repo-template: prettier 3.3.3 with @prettier/plugin-xml 3.4.1).
// The plugin is passed by bin/lib_lint.sh, which installs both in .cache/node.
/** @type {import('prettier').Config} */
const config = {
    bracketSpacing: false,
    printWidth: 88,
    proseWrap: "always",
    semi: true,
    trailingComma: "es5",
    xmlWhitespaceSensitivity: "preserve",
    // OCA's .editorconfig: 4 spaces, 2 for data formats.
    tabWidth: 4,
    overrides: [
        {
            files: ["*.json", "*.yml", "*.yaml", "*.md", "*.rst"],
            options: {tabWidth: 2},
        },
    ],
};

module.exports = config;
