/**
 * The canvas: toolbar, palette, React Flow graph, side panel; synced with a widget model.
 * The same component serves the anywidget (`llmos_jupyter.Canvas`), JupyterLab's workflow
 * documents and the notebook graph. What it is made of lives in ./canvas/: the host's
 * traits, the document and its history, React Flow's view, the edits, the keys, skill
 * drops, host commands, the problems shown, the level-of-detail layer and the toolbar.
 */
import {
  Background,
  BackgroundVariant,
  Controls,
  MiniMap,
  ReactFlow,
  ReactFlowProvider,
  type Edge,
} from '@xyflow/react';
import React, { useCallback, useMemo, useRef } from 'react';

import { skipInfo } from './control';
import { INITIAL_ZOOM, READABLE_ZOOM } from './logic';
import { useTrait, type WidgetModel } from './model';
import { Palette, SidePanel } from './Panels';
import { CanvasContext, SkillNode, type SkillFlowNode } from './SkillNode';
import { useFlowView } from './canvas/flowView';
import { useGraphEdits } from './canvas/graphEdits';
import { useHostCommands } from './canvas/hostCommands';
import { useCanvasKeys } from './canvas/keyboard';
import { LodLayer, useLevelOfDetail } from './canvas/LodLayer';
import { useNotice } from './canvas/notice';
import { useShownProblems } from './canvas/problems';
import { useSkillDrops } from './canvas/skillDrops';
import { Toolbar } from './canvas/Toolbar';
import { useCanvasTraits } from './canvas/traits';
import { useSkillIndex, useWorkflowDoc } from './canvas/workflowDoc';

// Kept importable from here: the unit tests and older imports name it from App.
export { passesThrough } from './canvas/keyboard';
export { LOD_ZOOM } from './canvas/LodLayer';

const nodeTypes = { skill: SkillNode };
// Stable empties for the level-of-detail view, so React Flow sees no change per frame.
const NO_NODES: SkillFlowNode[] = [];
const NO_EDGES: Edge[] = [];

function Canvas({ model, root }: { model: WidgetModel; root: React.RefObject<HTMLDivElement> }) {
  const traits = useCanvasTraits(model);
  const { skills, statuses, previews, message, running, dashboard, logs, executor, scheduler,
    canOpenFiles, layoutDirection, nodePorts } = traits;
  const { hist, doc, dispatch } = useWorkflowDoc(model);
  const skillIndex = useSkillIndex(skills, nodePorts, doc.nodes);
  const [notice, setNotice] = useNotice(hist.refused, message);
  const view = useFlowView(model, doc, skillIndex, traits);
  const { rfNodes, setRfNodes, display, sizes, selected, showNode } = view;
  const { shownProblems, problemsByNode } = useShownProblems(doc, skillIndex, traits);

  const wrapper = useRef<HTMLDivElement>(null);
  const edits = useGraphEdits({ doc, skillIndex, dispatch, setNotice, root, wrapper, rfNodes, layoutDirection });
  const { addSkill, addAt, remove, fit, layout } = edits;
  useHostCommands(model, { fit, layout, addAt, showNode });
  const { onDrop, onDragOver } = useSkillDrops(root, addSkill, addAt);
  const onBodyKeyDown = useCanvasKeys(root, { dispatch, addSkill, remove, fit, layout, selected,
    selectedEdges: view.selectedEdges });

  const send = useCallback((action: string, node?: string) => {
    setNotice(null);
    model.send({ action, node });
  }, [model, setNotice]);
  const ctx = useMemo(() => ({ model, skills: skillIndex, problems: problemsByNode }),
    [model, skillIndex, problemsByNode]);
  const { lod, selectBox } = useLevelOfDetail({ nodes: doc.nodes, display, sizes, skillIndex, setRfNodes });

  return (
    <CanvasContext.Provider value={ctx}>
      <div className="llmos-canvas__body" onKeyDown={onBodyKeyDown}>
        <Toolbar running={running} executor={executor} scheduler={scheduler} dashboard={dashboard} send={send}
          fit={fit} layout={layout} canUndo={!!hist.past.length} canRedo={!!hist.future.length} dispatch={dispatch}
          nodes={doc.nodes} statuses={statuses} problems={shownProblems} skillsKnown={!!skills.length}
          showNode={showNode} notice={notice} message={message} />
        <div className="llmos-canvas__main">
          <Palette skills={skills} onAdd={(id) => addSkill(id)}>
            {!view.big && (
              // In the palette column, not over the graph: the minimap never covers a node.
              <div className="llmos-minimap">
                <MiniMap pannable zoomable style={{ width: 176, height: 110 }}
                  bgColor="var(--llmos-bg2)" maskColor="var(--llmos-mask)"
                  nodeClassName={(n) => `llmos-mm llmos-mm--${statuses[n.id]?.status ?? 'idle'}` +
                    (skipInfo(statuses[n.id])?.kind === 'branch' ? ' llmos-mm--skip-branch' : '')} />
              </div>
            )}
          </Palette>
          <div className="llmos-flow" ref={wrapper} onDrop={onDrop} onDragOver={onDragOver}
            data-lod={lod ? 'true' : 'false'}>
            <ReactFlow
              nodes={lod ? NO_NODES : rfNodes}
              edges={lod ? NO_EDGES : view.rfEdges}
              nodeTypes={nodeTypes}
              onNodesChange={view.onNodesChange}
              onEdgesChange={view.onEdgesChange}
              onConnect={edits.onConnect}
              onConnectEnd={edits.onConnectEnd}
              isValidConnection={edits.isValidConnection}
              onDelete={edits.onDelete}
              onNodeDragStop={edits.onNodeDragStop}
              onPaneClick={selectBox}
              deleteKeyCode={null}
              multiSelectionKeyCode={['Meta', 'Control', 'Shift']}
              fitView={!view.big}
              defaultViewport={{ x: 40, y: 40, zoom: INITIAL_ZOOM }}
              fitViewOptions={{ padding: 0.15, minZoom: READABLE_ZOOM, maxZoom: 1.25 }}
              minZoom={0.01}
              onlyRenderVisibleElements={view.big}
              proOptions={{ hideAttribution: true }}
            >
              <Background variant={BackgroundVariant.Dots} gap={20} size={1} />
              <Controls showInteractive={false}
                fitViewOptions={{ padding: 0.15, minZoom: READABLE_ZOOM, maxZoom: 1.25, duration: 200 }} />
            </ReactFlow>
            {lod && <LodLayer nodes={doc.nodes} edges={doc.edges} display={display} sizes={sizes}
              skills={skillIndex} statuses={statuses} selected={selected} />}
          </div>
          <SidePanel doc={doc} skills={skillIndex} selected={selected} statuses={statuses}
            previews={previews} problems={shownProblems} onShowNode={showNode}
            onSetParam={(node, port, value) => dispatch({ type: 'setParam', node, port, value })}
            onRename={(node, to) => dispatch({ type: 'rename', node, to })}
            onDelete={(nodes) => remove(nodes)}
            onAction={send} canOpenFiles={canOpenFiles} logs={logs} nodePorts={nodePorts} />
        </div>
      </div>
    </CanvasContext.Provider>
  );
}

export function App({ model }: { model: WidgetModel }) {
  const height = useTrait<number>(model, 'height') ?? 600;
  const root = useRef<HTMLDivElement>(null);
  return (
    <div className="llmos-canvas" style={{ height }} data-lm-suppress-shortcuts="true" tabIndex={-1}
      ref={root}>
      <ReactFlowProvider>
        <Canvas model={model} root={root} />
      </ReactFlowProvider>
    </div>
  );
}
