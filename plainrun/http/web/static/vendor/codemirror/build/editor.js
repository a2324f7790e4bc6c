// The one entry of plainrun's CodeMirror bundle: the parts of CodeMirror 6 the process editor uses,
// exported as the global PlainrunCM. The editor's own behaviour (the process language's colours,
// marking errors, completion) is in ../../../editor.js, which is not built.
export { EditorState, Compartment } from "@codemirror/state";
export {
  EditorView,
  keymap,
  lineNumbers,
  highlightActiveLine,
  highlightActiveLineGutter,
  drawSelection,
  placeholder,
} from "@codemirror/view";
export { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
export {
  StreamLanguage,
  HighlightStyle,
  syntaxHighlighting,
  indentUnit,
  bracketMatching,
} from "@codemirror/language";
export { linter, lintGutter, forceLinting, setDiagnostics } from "@codemirror/lint";
export {
  autocompletion,
  completionKeymap,
  startCompletion,
  snippetCompletion,
  acceptCompletion,
} from "@codemirror/autocomplete";
export { searchKeymap, highlightSelectionMatches } from "@codemirror/search";
export { tags } from "@lezer/highlight";
