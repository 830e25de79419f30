/**
 * The resource gate: the one way to read a resource, get a prompt, complete an argument or subscribe
 * to a resource — the counterpart of the tool gate, on the same policy function. Every request:
 *
 *   resolve (the gateway URI or qualified name, through the catalogue's tables)
 *   → policy (the caller may see it: `allow`; resources and prompts are never confirmed)
 *   → validate (a prompt's required arguments)
 *   → request upstream as the caller (ContentService, audited) → gateway URIs in what comes back.
 *
 * Anything the caller may not use answers exactly like something that does not exist (`MCP_2008`
 * for a resource, `MCP_2009` for a prompt), so URIs and names do not leak across role boundaries.
 */
import type { CompleteRequest, CompleteResult, GetPromptResult, ReadResourceResult } from '@modelcontextprotocol/client';
import type { Identity } from '../auth/identity.js';
import { GatewayError } from '../errors.js';
import { isVisible } from '../policy/decide.js';
import type { ContentRequestOptions, ContentService, PromptTarget, ResourceTarget } from '../upstream/content-service.js';
import { gatewayPromptResult, gatewayReadResult } from '../upstream/resource-links.js';
import type { UpdateListener } from '../upstream/resource-subscriptions.js';

/** What a completion is for, as the client named it (a qualified prompt name, or a gateway URI or template). */
export type CompletionRef = { readonly type: 'ref/prompt'; readonly name: string } | { readonly type: 'ref/resource'; readonly uri: string };

export class ResourceGate {
  constructor(readonly content: ContentService) {}

  /** The resource behind a gateway URI and the caller's decision; "not found" unless they may read it. */
  async authorizeResource(identity: Identity, gatewayUri: string): Promise<ResourceTarget> {
    await this.content.catalogue.loaded();
    const address = this.content.catalogue.uris.resolve(gatewayUri);
    const decision = address === undefined ? undefined : this.content.decisionFor(identity, address.server, { kind: 'resource', uri: address.uri, template: address.template });
    if (address === undefined || decision === undefined || !isVisible(decision)) throw new GatewayError('MCP_2008', { details: { uri: gatewayUri } });
    return { ...address, decision };
  }

  async authorizePrompt(identity: Identity, name: string): Promise<PromptTarget> {
    await this.content.catalogue.loaded();
    const entry = this.content.catalogue.resolvePrompt(name);
    const decision = entry === undefined ? undefined : this.content.decisionFor(identity, entry.server, { kind: 'prompt', name: entry.prompt.name });
    if (entry === undefined || decision === undefined || !isVisible(decision)) throw new GatewayError('MCP_2009', { details: { prompt: name } });
    return { entry, decision };
  }

  async read(identity: Identity, gatewayUri: string, options: ContentRequestOptions): Promise<ReadResourceResult> {
    const target = await this.authorizeResource(identity, gatewayUri);
    const result = await this.content.readResource(identity, target, options);
    return gatewayReadResult(this.content.catalogue.uris, target.server, { uri: target.uri, gatewayUri }, result);
  }

  async getPrompt(identity: Identity, name: string, args: Record<string, string>, options: ContentRequestOptions): Promise<GetPromptResult> {
    const target = await this.authorizePrompt(identity, name);
    const missing = (target.entry.prompt.arguments ?? []).filter((argument) => argument.required === true && args[argument.name] === undefined).map((argument) => argument.name);
    if (missing.length > 0) throw new GatewayError('MCP_2010', { details: { prompt: name, missing } });
    const result = await this.content.getPrompt(identity, target, args, options);
    return gatewayPromptResult(this.content.catalogue.uris, target.entry.server, result);
  }

  /**
   * Completes an argument of a prompt the caller may get, or of a resource template (or resource)
   * they may read; the reference is translated to the upstream's own name or template.
   */
  async complete(identity: Identity, ref: CompletionRef, rest: Omit<CompleteRequest['params'], 'ref'>, options: ContentRequestOptions): Promise<CompleteResult> {
    if (ref.type === 'ref/prompt') {
      const { entry } = await this.authorizePrompt(identity, ref.name);
      return this.content.complete(identity, entry.server, { ...rest, ref: { type: 'ref/prompt', name: entry.prompt.name } }, options);
    }
    await this.content.catalogue.loaded();
    const template = this.content.catalogue.uris.resolveTemplate(ref.uri);
    if (template !== undefined) {
      const decision = this.content.decisionFor(identity, template.server, { kind: 'resource', uri: template.template, template: template.template });
      if (!isVisible(decision)) throw new GatewayError('MCP_2008', { details: { uri: ref.uri } });
      return this.content.complete(identity, template.server, { ...rest, ref: { type: 'ref/resource', uri: template.template } }, options);
    }
    const target = await this.authorizeResource(identity, ref.uri);
    return this.content.complete(identity, target.server, { ...rest, ref: { type: 'ref/resource', uri: target.uri } }, options);
  }

  /** Subscribes the caller to a resource they may read; resolves to the function that ends it. */
  async subscribe(identity: Identity, gatewayUri: string, listener: UpdateListener): Promise<() => Promise<void>> {
    const target = await this.authorizeResource(identity, gatewayUri);
    return this.content.subscriptions.subscribe(target.server, target.uri, listener);
  }
}
