/**
 * HR tools. Row-level rule: hr-read / hr-write / executive see every employee; a plain `employee`
 * sees their own record and their direct reports; anyone else sees nobody.
 */
import { z } from 'zod';
import { canReadAll, EMPLOYEE, hasRole, type Caller } from '../caller.js';
import { nextCursorOutput, pageInput, paginate } from '../pagination.js';
import { ToolFailure } from '../tool-failure.js';
import { readTool, writeTool, type SampleTool } from '../tools.js';
import { DEPARTMENTS, employeeSchema, type Employee, type HrStore } from './data.js';

const employeeId = z
  .string()
  .regex(/^E-\d{4}$/, 'an employee id looks like E-1001')
  .describe('Employee id, e.g. "E-1001" (see list_employees).');

const employeeSummary = employeeSchema.pick({ id: true, name: true, department: true, managerId: true, title: true, email: true });

function visibleEmployees(store: HrStore, caller: Caller): Employee[] {
  const everyone = [...store.employees.values()];
  if (canReadAll(caller, 'hr')) return everyone;
  const self = hasRole(caller, EMPLOYEE) ? everyone.find((employee) => employee.email === caller.email) : undefined;
  if (self === undefined) return [];
  return everyone.filter((employee) => employee.id === self.id || employee.managerId === self.id);
}

function findVisible(store: HrStore, caller: Caller, id: string): Employee {
  const employee = visibleEmployees(store, caller).find((candidate) => candidate.id === id);
  // Hidden and missing records answer alike, so ids of other people's records leak nothing.
  if (employee === undefined) throw new ToolFailure(`Employee ${id} not found (or not visible to you).`);
  return employee;
}

export function hrTools(store: HrStore): SampleTool[] {
  return [
    readTool(
      'list_employees',
      {
        title: 'List employees',
        description:
          'List employees you are allowed to see (HR staff and executives see everyone; other employees see themselves and their direct reports), ' +
          'ordered by id. Returns id, name, department, title, email and managerId; use get_employee for salary, location and start date. Paginated.',
        inputSchema: z.object({
          department: z.enum(DEPARTMENTS).optional().describe('Only employees of this department.'),
          ...pageInput,
        }),
        outputSchema: z.object({ employees: z.array(employeeSummary), nextCursor: nextCursorOutput }),
      },
      ({ department, cursor, limit }, caller) => {
        const rows = visibleEmployees(store, caller).filter((employee) => department === undefined || employee.department === department);
        const { items, nextCursor } = paginate(rows, cursor, limit);
        const employees = items.map((employee) => employeeSummary.parse(employee));
        return { summary: `${employees.length} employee(s)${nextCursor === undefined ? '' : '; more available with nextCursor'}.`, data: { employees, nextCursor } };
      },
    ),
    readTool(
      'get_employee',
      {
        title: 'Get employee',
        description: 'Get the full HR record of one employee: department, title, manager, annual salary (USD), location and start date.',
        inputSchema: z.object({ employeeId }),
        outputSchema: employeeSchema,
      },
      (args, caller) => {
        const employee = findVisible(store, caller, args.employeeId);
        return { summary: `${employee.name} (${employee.id}), ${employee.title}, ${employee.department}.`, data: { ...employee } };
      },
    ),
    writeTool(
      'delete_employee',
      {
        title: 'Delete employee',
        description:
          'Permanently delete an employee record. Irreversible. Refused while the employee still manages others (reassign their reports first). Requires hr-write.',
        inputSchema: z.object({ employeeId }),
        outputSchema: z.object({ employeeId: z.string(), name: z.string(), deleted: z.literal(true) }),
      },
      (args, caller) => {
        const employee = findVisible(store, caller, args.employeeId);
        const reports = [...store.employees.values()].filter((candidate) => candidate.managerId === employee.id).length;
        if (reports > 0) throw new ToolFailure(`${employee.name} (${employee.id}) still manages ${reports} employee(s); reassign them first.`);
        store.employees.delete(employee.id);
        return { summary: `Deleted ${employee.name} (${employee.id}).`, data: { employeeId: employee.id, name: employee.name, deleted: true } };
      },
    ),
    writeTool(
      'update_salary',
      {
        title: 'Update salary',
        description: "Set an employee's annual base salary in USD. Returns the previous and the new salary. Requires hr-write.",
        inputSchema: z.object({
          employeeId,
          salary: z.number().int().min(10_000).max(5_000_000).describe('New annual base salary in whole USD, e.g. 125000.'),
        }),
        outputSchema: z.object({ employeeId: z.string(), previousSalary: z.number(), salary: z.number() }),
      },
      (args, caller) => {
        const employee = findVisible(store, caller, args.employeeId);
        store.employees.set(employee.id, { ...employee, salary: args.salary });
        return {
          summary: `Salary of ${employee.name} (${employee.id}) changed from ${employee.salary} to ${args.salary} USD.`,
          data: { employeeId: employee.id, previousSalary: employee.salary, salary: args.salary },
        };
      },
    ),
  ];
}
