/** The four sample servers: what each one stores and which tools it offers. */
import type { SampleServerName } from './caller.js';
import { createFinanceStore, type FinanceStore, type FinanceView } from './finance/data.js';
import { financeTools } from './finance/tools.js';
import { createHrStore, type HrStore, type HrView } from './hr/data.js';
import { hrTools } from './hr/tools.js';
import { createSalesStore, type SalesStore, type SalesView } from './sales/data.js';
import { salesTools } from './sales/tools.js';
import { createSupportStore, type SupportStore, type SupportView } from './support/data.js';
import { supportTools } from './support/tools.js';
import type { SampleTool } from './tools.js';

interface SampleStores {
  hr: HrStore;
  finance: FinanceStore;
  sales: SalesStore;
  support: SupportStore;
}

/** The read-only face of each store that tests observe writes through. */
export interface SampleDataViews {
  hr: HrView;
  finance: FinanceView;
  sales: SalesView;
  support: SupportView;
}

interface SampleDomain<Store, View> {
  title: string;
  createStore(): Store;
  tools(store: Store): SampleTool[];
  view(store: Store): View;
}

export const SAMPLE_DOMAINS: { readonly [N in SampleServerName]: SampleDomain<SampleStores[N], SampleDataViews[N]> } = {
  hr: { title: 'HR (sample)', createStore: createHrStore, tools: hrTools, view: (store) => store },
  finance: { title: 'Finance (sample)', createStore: createFinanceStore, tools: financeTools, view: (store) => store },
  sales: { title: 'Sales (sample)', createStore: createSalesStore, tools: salesTools, view: (store) => store },
  support: { title: 'Support (sample)', createStore: createSupportStore, tools: supportTools, view: (store) => store },
};
