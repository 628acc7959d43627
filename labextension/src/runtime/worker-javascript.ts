/** The worker entry of `runtime: javascript` skills: plain JavaScript, no DOM. */
import { serve } from './workerMain';

serve();
