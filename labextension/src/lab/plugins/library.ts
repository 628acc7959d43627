/**
 * `llmos-jupyter:plugin`: the library kernel and the skill list, configured by the
 * extension's settings (the kernel, LLMOS_HOME). Every other plugin asks it through the
 * `ILlmosLibrary` token.
 */
import type { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISettingRegistry } from '@jupyterlab/settingregistry';

import { LibraryKernel } from '../kernel';
import { readConfig, type LibrarySkill } from '../logic';
import { DEFAULT_CONFIG, ILlmosLibrary, PLUGIN_PREFIX, type LlmosConfig } from '../tokens';

export const libraryPlugin: JupyterFrontEndPlugin<ILlmosLibrary> = {
  id: `${PLUGIN_PREFIX}:plugin`,
  description: 'The llmos library kernel and the skill list.',
  autoStart: true,
  provides: ILlmosLibrary,
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, settings: ISettingRegistry | null): ILlmosLibrary => {
    const kernel = new LibraryKernel(app.serviceManager);
    let config: LlmosConfig = { ...DEFAULT_CONFIG };
    const listeners: ((c: LlmosConfig) => void)[] = [];
    let loaded: Promise<LibrarySkill[]> | null = null;
    const loadedListeners: (() => void)[] = [];
    const load = async () => {
      if (config.llmosHome) await kernel.call('set_llmos_home', config.llmosHome);
      const r = await kernel.call<{ skills: LibrarySkill[]; errors: string[] }>('skills_json');
      for (const e of r.errors) console.warn('llmos skill library:', e);
      for (const cb of loadedListeners) cb();
      return r.skills;
    };
    const library: ILlmosLibrary = {
      kernel,
      config: () => config,
      onConfigChanged: (cb) => { listeners.push(cb); },
      onLoaded: (cb) => { loadedListeners.push(cb); },
      skills: () => (loaded ??= load()),
      refresh: () => (loaded = load()),
    };
    if (settings) {
      void settings.load(`${PLUGIN_PREFIX}:plugin`).then((s) => {
        const apply = () => {
          config = readConfig((key) => s.get(key).composite);
          kernel.setKernelName(config.kernel);
          loaded = null;
          for (const cb of listeners) cb(config);
        };
        apply();
        s.changed.connect(apply);
      }).catch((e) => console.warn('llmos: settings not loaded', e));
    }
    window.addEventListener('beforeunload', () => void kernel.dispose());
    return library;
  },
};
