// Starts the NHS.UK frontend components (header menu, error summary focus, character
// counts, skip link). Loaded as a module; pages work without it.
import { initAll } from "/static/nhsuk/nhsuk-frontend.min.js";

initAll();
